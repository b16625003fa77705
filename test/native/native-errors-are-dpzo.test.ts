// The model API's errors as a dependent meets them: every error is a DpzoError with a code (lib/errors.ts says so, and its
// example branches on `e instanceof DpzoError`), also those the native core raises: the binding's plain Errors with a code
// were not DpzoErrors, so the documented `catch (e) { if (e instanceof DpzoError && e.code === …) … else throw e; }` rethrew
// a missing model directory, and an asynchronous native error had no stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DpzoError, loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeTinyModel } from '../helpers/tiny.js';

let tmp: { dir: string; cleanup: () => void };
let model: Model;

beforeAll(async () => {
  tmp = makeTempDir('dpzo-api-errors-');
  model = await loadModel(writeTinyModel(`${tmp.dir}/model`), { threads: 1 });
});

afterAll(() => {
  model.dispose();
  tmp.cleanup();
});

/** What `call` threw or rejected with. */
async function caught(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

function expectDpzo(e: unknown, code: string): void {
  expect(e).toBeInstanceOf(DpzoError);
  expect((e as DpzoError).code).toBe(code);
  expect((e as DpzoError).name).toBe('DpzoError');
  // where the error came from, not just its message
  expect((e as Error).stack?.split('\n').length).toBeGreaterThan(1);
}

describe('native errors are DpzoErrors', () => {
  it("errors.ts's example: a directory without config.json is a DpzoError ERR_CONFIG_MISSING", async () => {
    expectDpzo(await caught(() => loadModel(`${tmp.dir}/no-such-dir`)), 'ERR_CONFIG_MISSING');
  });

  it('a trainable pattern that matches nothing (native, asynchronous)', async () => {
    expectDpzo(await caught(() => loadModel(`${tmp.dir}/model`, { trainable: ['no_such_tensor'] })), 'ERR_ARGUMENT');
  });

  it('a token outside the vocabulary, an unknown tensor, a wrong-length dense step', async () => {
    expectDpzo(await caught(() => model.perExampleLoss({ inputIds: [[1, 999]] })), 'ERR_TOKEN_RANGE');
    expectDpzo(await caught(() => model.getParameter('no.such.weight')), 'ERR_TENSOR_UNKNOWN');
    expectDpzo(await caught(() => model.addDense!(new Float32Array(3))), 'ERR_ARGUMENT');
    expectDpzo(await caught(() => model.perExampleLossAt({ inputIds: [[1, 2]] }, Array.from({ length: 9 }, (_, i) => [{ seed: i, coeff: 1e-3 }]))), 'ERR_ARGUMENT');
  });

  it('a candidate listed twice, a label outside the candidates (native batch checks)', async () => {
    expectDpzo(await caught(() => model.perExampleLoss({ inputIds: [[1, 2, 3]], candidates: [5, 5] })), 'ERR_BATCH');
    expectDpzo(await caught(() => model.perExampleLoss({ inputIds: [[1, 2, 3]], candidates: [5, 6] })), 'ERR_BATCH');
  });

  it('the results of good calls are unchanged', async () => {
    const { loss, targets } = await model.perExampleLoss({ inputIds: [[1, 2, 3]] });
    expect(targets[0]).toBe(2);
    expect(Number.isFinite(loss[0])).toBe(true);
    expect(model.getParameter('model.norm.weight')).toBeInstanceOf(Float32Array);
    expect(model.memory().hostBytes).toBeGreaterThan(0);
  });
});

describe('the raw addon behind the error mapping', () => {
  it('a model still is an instance of the addon class, and sync results stay sync', async () => {
    const { nativeAddon } = await import('../../lib/native.js');
    const addon = nativeAddon() as unknown as Record<string, unknown> & { NativeModel: new () => unknown; directionIsa(): string };
    expect(typeof addon.directionIsa()).toBe('string');
    const handle = (model as unknown as { handle: object }).handle;
    expect(handle instanceof addon.NativeModel).toBe(true);
    // a synchronous native argument error is still thrown synchronously, as a DpzoError
    let err: unknown;
    try {
      nativeAddon().philox(new Uint32Array(1), new Uint32Array(2));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DpzoError);
  });
});
