// lib/bench/memory.ts runChild/childFailure: a measuring process that does not give its result (killed, out of
// memory in V8, an uncaught error, a last line that is not the result) is one line naming the method and why,
// never a stack trace, a JSON parse error thrown from an event handler, or a hang.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { benchMemory, childFailure, runChild } from '../../../lib/bench/memory.js';
import type { MemoryChildSpec } from '../../../lib/bench/memory-types.js';

const dir = mkdtempSync(join(tmpdir(), 'dpzo-run-child-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const spec: MemoryChildSpec = { model: dir, method: 'dpsgd-ghost', batch: 1, seq: 2, device: 'cpu' };

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

const V8_OOM = `
<--- Last few GCs --->

[123:0x55]     5000 ms: Mark-Compact 4000.1 (4100.2) -> 3999.9 (4100.2) MB, 900.1 / 0.0 ms  (average mu = 0.1) allocation failure

<--- JS stacktrace --->

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
----- Native stack trace -----

 1: 0xb8d0a3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]
 2: 0xf06250 v8::Utils::ReportOOMFailure(v8::internal::Isolate*, char const*, v8::OOMDetails const&) [node]
`;

describe('childFailure', () => {
  it("gives the child's own coded error, first line", () => {
    const e = childFailure('dpzo', 2, null, 'a warning\n{"code":"ERR_CONFIG","message":"bad config\\nmore"}\n');
    expect(e.code).toBe('ERR_CONFIG');
    expect(e.message).toBe('bench memory (dpzo): bad config');
  });

  it('SIGKILL: killed, out of memory suspected, one line', () => {
    const e = childFailure('dpsgd-per-example', null, 'SIGKILL', '');
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.message).toMatch(/^bench memory \(dpsgd-per-example\): the measuring process was killed by SIGKILL/);
    expect(e.message).not.toContain('\n');
  });

  it("V8's heap exhaustion: the FATAL ERROR line, not the last frame of its native stack", () => {
    const e = childFailure('dpsgd-per-example', 134, null, V8_OOM);
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.message).toBe(
      'bench memory (dpsgd-per-example): the measuring process exited with status 134: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    );
  });

  it('an uncaught error: its message line, not the stack', () => {
    const e = childFailure('inference', 1, null, 'file:///x.js:3\n  throw new TypeError("boom");\n  ^\n\nTypeError: boom\n    at main (file:///x.js:3:9)\n');
    expect(e.message).toBe('bench memory (inference): the measuring process exited with status 1: TypeError: boom');
  });
});

describe('runChild', () => {
  it('a child killed by a signal rejects with one line (no hang)', async () => {
    const s = script('kill.mjs', "process.kill(process.pid, 'SIGKILL');\n");
    await expect(runChild(spec, s)).rejects.toMatchObject({ code: 'ERR_OUT_OF_MEMORY', message: expect.stringMatching(/killed by SIGKILL/) });
  });

  it('a child that exits 0 without its result rejects (it threw a SyntaxError from the close handler)', async () => {
    const s = script('garbage.mjs', "process.stdout.write('not json\\n');\n");
    await expect(runChild(spec, s)).rejects.toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(/ended without its result.*not json/) });
    const empty = script('empty.mjs', '');
    await expect(runChild(spec, empty)).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it("a child's result is read from its last stdout line", async () => {
    const s = script('ok.mjs', `process.stdout.write(JSON.stringify({ method: 'dpsgd-ghost', peakBytes: 5 }) + '\\n');\n`);
    await expect(runChild(spec, s)).resolves.toMatchObject({ method: 'dpsgd-ghost', peakBytes: 5 });
  });
});

describe('benchMemory with stand-in measuring processes', () => {
  const model = join(dir, 'model');
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 4, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8 }));
  // a backend without a backward pass: DP-SGD's processes fail with ERR_DEVICE, the others give a result
  const child = script(
    'no-backward.mjs',
    `const spec = JSON.parse(process.argv[2]);
if (spec.method.startsWith('dpsgd')) {
  process.stderr.write(JSON.stringify({ code: 'ERR_DEVICE', message: "lossAndGradient: the cuda backend has no backward pass yet (load the model with device 'cpu')" }) + '\\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify({ method: spec.method, weightsBytes: 100, peakBytes: 150, hostPeakBytes: 0, devicePeakBytes: 150, rssPeakBytes: 1000, stepSeconds: 0.1,
  js: { perExample: 0, gradients: 0, optimizerState: 0 }, backendGradientBytes: 0, config: { hiddenSize: 4, numLayers: 1, vocabSize: 8 },
  numParams: 25, numTrainable: 25, dtype: 'float32', seq: 2 }) + '\\n');
`,
  );

  it('a device without a backward pass: DP-SGD is said in notMeasured, the rest measured (the whole run failed)', async () => {
    const r = await benchMemory({ model, batch: 1, seq: 2, device: 'cuda', childScript: child });
    expect(r.rows.map((x) => x.method)).toEqual(['inference', 'dpzo', 'dpzo-n4']);
    expect(r.notMeasured).toEqual([
      "dpsgd-per-example: lossAndGradient: the cuda backend has no backward pass yet (load the model with device 'cpu')",
      "dpsgd-ghost: lossAndGradient: the cuda backend has no backward pass yet (load the model with device 'cpu')",
    ]);
  });
});
