// The exported replay entry points check their arguments: exportRun('run1', 'exp1') (the model left out) failed as a bare
// TypeError "Cannot read properties of undefined (reading 'trim')", naming no argument.
import { describe, expect, it } from 'vitest';

import { exportRun, replayRun, replayTrajectory, saveModelDirectory } from '../../../lib/dpzo/replay.js';
import type { Model } from '../../../lib/model/types.js';
import { FakeModel } from '../../helpers/fake-model.js';

/** Calls `f` with arguments of any type (what a JavaScript caller can pass). */
const untyped = (f: unknown) => f as (...a: unknown[]) => Promise<unknown>;

describe('replay entry points: argument checks', () => {
  it('exportRun with the model left out names the model argument', async () => {
    const call = exportRun as (...a: unknown[]) => Promise<unknown>;
    await expect(call('run1', 'exp1')).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/exportRun: model must be a Model/) });
  });

  it('exportRun names a runDir, outDir or signal of the wrong type', async () => {
    const m = new FakeModel(4);
    const call = exportRun as (...a: unknown[]) => Promise<unknown>;
    await expect(call(m, 5, '/tmp/x')).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/runDir must be/) });
    await expect(call(m, 'run1')).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/outDir must be/) });
    await expect(call(m, 'run1', 'out', 'stop')).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringMatching(/signal must be an AbortSignal/),
    });
  });

  it('replayTrajectory names lines, zoEps, weightDecay and form', async () => {
    const m: Model = new FakeModel(4);
    const call = replayTrajectory as (...a: unknown[]) => Promise<number>;
    await expect(call(5, [], 1e-3)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/model must be a Model/) });
    await expect(call(m, 5, 1e-3)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/lines must be an array/) });
    await expect(call(m, [], undefined)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/zoEps/) });
    await expect(call(m, [], 1e-3, undefined, -1)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/weightDecay/) });
    await expect(call(m, [], 1e-3, undefined, 0, 'fast')).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/form/) });
    await expect(replayTrajectory(m, [], 1e-3)).resolves.toBe(0);
  });

  it('replayRun and saveModelDirectory name their arguments', async () => {
    await expect(untyped(replayRun)(undefined, 'run1')).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/replayRun: model/) });
    await expect(untyped(replayRun)(new FakeModel(4), undefined)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/runDir/) });
    await expect(untyped(saveModelDirectory)(new FakeModel(4), 7)).rejects.toMatchObject({
      code: 'ERR_ARGUMENT',
      message: expect.stringMatching(/dir must be/),
    });
  });
});
