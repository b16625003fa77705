// `dpzo bench memory` (issue 13, the part that needs no backward pass): each method measured in its own
// process; the weights component is what the backend holds after load (= parameters × 4 bytes for an F32
// model), a DP-ZO step (θ ± εz in one call: the batch twice) holds at least inference's peak, the
// extrapolation counts OPT's parameters and 2 bytes each in BF16, DP-SGD is reported as not measured
// (never as a computed number), and the JSON and the SVG chart are written.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { MemoryReport } from '../../lib/bench/memory.js';
import { GPU_CARDS, benchMemory, extrapolate, formatBytes } from '../../lib/bench/memory.js';
import { paramsLowerBound } from '../../lib/bench/memory-need.js';
import { optConfigJson } from '../../lib/bench/shape-config.js';
import { OPT_FAMILY, optParams } from '../../lib/bench/opt-family.js';
import { loadModel } from '../../lib/index.js';
import { nativeAddon } from '../../lib/native.js';
import type { LossBatch, Model } from '../../lib/model/types.js';
import { randomBatch } from '../../lib/bench/random-batch.js';
import { makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT, dpzo } from '../helpers/cli.js';
import { writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-bench-memory-');
afterAll(() => tmp.cleanup());
const MODEL = join(tmp.dir, 'model');
writeTinyModel(MODEL);

/** `dpzo bench memory` on the tiny model into `out`, as a process: its output so far, its exit, its first measuring process. */
function startBench(out: string) {
  const cli = spawn(process.execPath, [CLI_MAIN, 'bench', 'memory', '--model', MODEL, '--batch', '2', '--seq', '8', '--threads', '1', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  cli.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  cli.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return {
    process: cli,
    stdout: () => stdout,
    stderr: () => stderr,
    closed: new Promise<number | null>((resolve) => cli.on('close', resolve)),
    /** The pid of the first measuring process, as soon as it exists. */
    async firstChild(): Promise<number> {
      for (let i = 0; i < 2000; i++) {
        const kids = readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, 'utf8').trim();
        if (kids !== '') return Number(kids.split(/\s+/)[0]);
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('no measuring process started within 10 s');
    },
  };
}

/** Whether process `pid` has ended within 5 s (or is a zombie nobody reaped). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    try {
      if (/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe('dpzo bench memory', () => {
  it('measures each method (inference, DP-ZO, DP-SGD per-example and ghost) in its own process and writes JSON and SVG', { timeout: 120_000 }, async () => {
    const out = join(tmp.dir, 'out');
    const r = await dpzo('bench', 'memory', '--model', MODEL, '--batch', '4', '--seq', '16', '--threads', '1', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as MemoryReport;
    expect(report.rows.map((x) => x.method)).toEqual(['inference', 'dpzo', 'dpzo-n4', 'dpsgd-per-example', 'dpsgd-ghost']);
    const m = await loadModel(MODEL, { threads: 1 });
    const weights = m.numParameters * 4;
    m.dispose();
    for (const row of report.rows) {
      const c = row.components;
      expect(c.weights).toBe(weights);
      expect(row.peakBytes).toBeGreaterThan(weights);
      expect(row.rssPeakBytes).toBeGreaterThan(row.peakBytes);
      expect(row.stepSeconds).toBeGreaterThan(0);
      expect(c.activations).toBeGreaterThan(0);
      if (row.method.startsWith('dpzo') || row.method === 'inference') {
        expect(c.activations).toBe(row.peakBytes - weights);
        expect(c.gradients + c.optimizerState + c.perExample).toBe(0);
      } else {
        // DP-SGD with Adam: the batch's 4 per-example gradients (the last of them the backend's own buffer, handed
        // over), or with ghost clipping none and the backend's gradient; ĝ and the step, two moments
        expect(c.perExample).toBe(row.method === 'dpsgd-ghost' ? 0 : 4 * weights);
        expect(c.gradients).toBe(row.method === 'dpsgd-ghost' ? 3 * weights : 2 * weights);
        expect(c.optimizerState).toBe(2 * weights);
        expect(c.weights + c.gradients + c.optimizerState + c.perExample + c.activations).toBe(row.peakBytes);
      }
    }
    const [inf, zo] = report.rows;
    expect(zo!.peakBytes).toBeGreaterThanOrEqual(inf!.peakBytes);
    expect(report.notMeasured).toEqual([]);
    expect(JSON.parse(readFileSync(join(out, 'memory.json'), 'utf8'))).toEqual(report);
    const svg = readFileSync(join(out, 'memory.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const method of ['inference', 'dpzo', 'dpzo-n4', 'dpsgd-per-example', 'dpsgd-ghost']) expect(svg).toContain(`>${method}</text>`);
    expect(existsSync(join(out, 'memory.svg'))).toBe(true);
  });

  it('each peak is what the step holds at once, measured apart: the backend\'s own high-water mark of the same calls plus the JavaScript buffers alive with it', { timeout: 120_000 }, async () => {
    const B = 3;
    const r = await dpzo('bench', 'memory', '--model', MODEL, '--batch', String(B), '--seq', '12', '--threads', '1', '--out', join(tmp.dir, 'out-pin'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as MemoryReport;
    const row = (m: string) => report.rows.find((x) => x.method === m)!;
    // each call's backend peak, in a fresh model as each child's is
    const peakOf = async (f: (m: Model, batch: LossBatch & { inputIds: number[][] }) => Promise<unknown>) => {
      const m = await loadModel(MODEL, { threads: 1 });
      try {
        await f(m, randomBatch(m.config.vocabSize, B, Math.min(12, m.config.maxPositions)));
        return { peak: m.memory().hostPeakBytes, P: m.numTrainable, W: m.numParameters * 4 };
      } finally {
        m.dispose();
      }
    };
    const inf = await peakOf((m, b) => m.perExampleLoss(b));
    expect(row('inference').peakBytes).toBe(inf.peak);
    const zo = await peakOf((m, b) => m.perExampleLossAt(b, [[{ seed: 1n, coeff: 1e-3 }], [{ seed: 1n, coeff: -1e-3 }]]));
    expect(row('dpzo').peakBytes).toBe(zo.peak);
    expect(row('dpzo-n4').peakBytes).toBe(zo.peak);
    // per-example: one example's backward (the backend's arena and its gradient buffer), the other B − 1
    // gradients of the batch (the backend hands its buffer over: the last one is that buffer), ĝ, Adam's step and
    // two moments: perExampleBytes = B × P × 4
    const one = await peakOf((m, b) => m.lossAndGradient!({ inputIds: [b.inputIds[0]!] }));
    const pe = row('dpsgd-per-example');
    expect(pe.components.perExample).toBe(B * one.P * 4);
    expect(pe.peakBytes).toBe(one.peak + (B - 1) * one.P * 4 + 4 * one.P * 4);
    expect(pe.components.gradients).toBe(2 * one.P * 4);
    expect(pe.components.activations).toBe(one.peak - one.P * 4 - one.W);
    // ghost: the norms pass and one reweighted backward of the whole batch, then ĝ, the step and two moments
    const ghost = await peakOf(async (m, b) => {
      await m.perExampleGradNorms!(b);
      await m.lossAndGradient!(b, { weights: b.inputIds.map(() => 0.5) });
    });
    const gh = row('dpsgd-ghost');
    expect(gh.components.perExample).toBe(0);
    expect(gh.peakBytes).toBe(ghost.peak + 4 * ghost.P * 4);
    for (const x of report.rows) {
      const c = x.components;
      expect(c.weights + c.gradients + c.optimizerState + c.perExample + c.activations).toBe(x.peakBytes);
    }
  });

  it('a measuring process killed (as the out-of-memory killer does) is one line naming the method and the signal, exit 2, no output', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'out-killed');
    const cli = startBench(out);
    // the first measuring process (inference) is killed as soon as it exists
    process.kill(await cli.firstChild(), 'SIGKILL');
    expect(await cli.closed).toBe(2);
    expect(cli.stdout()).toBe('');
    const lines = cli.stderr().trim().split('\n');
    // the progress line of the method, then the error
    expect(lines.at(-1)).toMatch(/^dpzo: bench memory \(inference\): the measuring process was killed by SIGKILL .*out-of-memory.* \[ERR_OUT_OF_MEMORY\]$/);
    expect(lines.filter((l) => l.startsWith('dpzo:'))).toHaveLength(1);
    expect(existsSync(join(out, 'memory.json'))).toBe(false);
  });

  it('SIGTERM to dpzo bench memory stops its measuring process too (it ran on after the parent died), exit 143, no output', { timeout: 60_000 }, async () => {
    const out = join(tmp.dir, 'out-sigterm');
    const cli = startBench(out);
    const kid = await cli.firstChild();
    cli.process.kill('SIGTERM');
    expect(await cli.closed).toBe(143);
    expect(cli.stderr()).toMatch(/cancelled \[ERR_CANCELLED\]\n$/);
    expect(existsSync(join(out, 'memory.json'))).toBe(false);
    expect(await gone(kid), `measuring process ${kid} still running`).toBe(true);
  });

  it('a measuring process whose parent is gone (its stdin pipe closed, as after kill -9) stops at once', { timeout: 60_000 }, async () => {
    const spec = JSON.stringify({ model: MODEL, method: 'inference', batch: 2, seq: 8, device: 'cpu', threads: 1 });
    const child = join(ROOT, 'lib', 'bench', 'memory-child.ts');
    const run = (closeStdin: boolean) =>
      new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, spec], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        if (closeStdin) p.stdin.end();
        p.on('close', (status) => resolve({ status, stdout }));
        if (!closeStdin) setTimeout(() => p.stdin.end(), 30_000); // the measurement ends well before
      });
    // the pipe held open: the measurement, its JSON line; closed: nothing measured, exit 143
    const kept = await run(false);
    expect(kept.status).toBe(0);
    expect(JSON.parse(kept.stdout.trim()).method).toBe('inference');
    const orphan = await run(true);
    expect(orphan.status).toBe(143);
    expect(orphan.stdout).toBe('');
  });

  it('a shape that cannot fit is refused up front: one line, exit 2, no measuring process started, no output', { timeout: 60_000 }, async () => {
    // OPT-66B's float32 weights alone are 264 GB: a random init was started and killed (or left to the allocator)
    const t0 = performance.now();
    const r = await dpzo('bench', 'memory', '--random-init', '--model', 'opt-66b', '--out', join(tmp.dir, 'never-66b'));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/measuring/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^dpzo: opt-66b: a forward alone needs at least 2\d\d\.\d GiB of host memory \(float32 weights and the token batch\) and \d+\.\d GiB is available.*\[ERR_OUT_OF_MEMORY\]\n$/);
    expect(existsSync(join(tmp.dir, 'never-66b'))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it('a DP-SGD regime that cannot fit is not started and is said in notMeasured; the others are measured', { timeout: 120_000 }, async () => {
    // the check's own lower bound of P: room for the float32 weights, the token batch (4 × 8 tokens, 16 bytes each)
    // and ghost clipping's five P-sized buffers, not for the per-example regime's B + 4 = 8
    const P = paramsLowerBound(JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>);
    const report = await benchMemory({ model: MODEL, batch: 4, seq: 8, device: 'cpu', threads: 1, availableBytes: 4 * P + 4 * 8 * 16 + 6 * 4 * P });
    expect(report.rows.map((x) => x.method)).toEqual(['inference', 'dpzo', 'dpzo-n4', 'dpsgd-ghost']);
    expect(report.notMeasured).toHaveLength(1);
    expect(report.notMeasured[0]).toMatch(/^dpsgd-per-example: needs at least .* GiB of host memory with 4 per-example gradients held at once, .* GiB available \(not started\)$/);
    expect(report.extrapolation[0]!.peakBytes['dpsgd-per-example']).toBeUndefined();
    expect(report.extrapolation[0]!.peakBytes['dpsgd-ghost']).toBeGreaterThan(0);
    await expect(benchMemory({ model: MODEL, batch: 4, seq: 8, device: 'cpu', threads: 1, availableBytes: 1000 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_MEMORY',
      message: expect.stringMatching(/a forward alone needs at least/),
    });
  });

  it('the lower bounds hold: below the parameters loaded, and below every OPT shape\'s', async () => {
    const m = await loadModel(MODEL, { threads: 1 });
    expect(paramsLowerBound(JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>)).toBeLessThanOrEqual(m.numParameters);
    expect(paramsLowerBound(JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>)).toBeGreaterThan(m.numParameters / 2);
    m.dispose();
    for (const s of OPT_FAMILY) {
      const lb = paramsLowerBound(JSON.parse(optConfigJson(s)) as Record<string, unknown>);
      expect(lb).toBeLessThanOrEqual(optParams(s));
      expect(lb).toBeGreaterThan(0.8 * optParams(s));
    }
  });

  it('a --batch whose token ids alone cannot fit is refused up front (the measuring process ran out of V8 heap building it)', async () => {
    const r = await dpzo('bench', 'memory', '--model', MODEL, '--batch', '1000000000', '--seq', '64', '--out', join(tmp.dir, 'never-batch'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^dpzo: .*model: a forward alone needs at least 953\.7 GiB of host memory .*\[ERR_OUT_OF_MEMORY\]\n$/);
    expect(existsSync(join(tmp.dir, 'never-batch'))).toBe(false);
  });

  it('a shape name without --random-init, or an unknown one with it: one line saying so', async () => {
    const a = await dpzo('bench', 'memory', '--model', 'opt-125m', '--out', join(tmp.dir, 'never'));
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/opt-125m is a shape name: measure it with --random-init/);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    const b = await dpzo('bench', 'memory', '--random-init', '--model', 'opt-999', '--out', join(tmp.dir, 'never'));
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/nor a shape name: opt-125m, .*opt-66b/);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
  });

  it('every method runs the batch in the micro-batches dpzo train runs (DP-ZO\'s two-point calls at half the tokens); --micro-batch bounds the per-example gradients held', { timeout: 180_000 }, async () => {
    // 160 sequences of 64 tokens = 10240 tokens: inference and ghost one call (≤ 16384), DP-ZO two (≤ 8192 each: 128 + 32)
    const B = 160;
    const r = await dpzo('bench', 'memory', '--model', MODEL, '--batch', String(B), '--seq', '64', '--micro-batch', '3', '--threads', '1', '--out', join(tmp.dir, 'out-mb'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as MemoryReport;
    expect(report.maxBatchTokens).toBe(16384);
    expect(report.microBatch).toBe(3);
    const row = (m: string) => report.rows.find((x) => x.method === m)!;
    const m = await loadModel(MODEL, { threads: 1 });
    const P = m.numTrainable;
    const batch = randomBatch(m.config.vocabSize, B, 64);
    await m.perExampleLossAt({ inputIds: batch.inputIds.slice(0, 128) }, [[{ seed: 1n, coeff: 1e-3 }], [{ seed: 1n, coeff: -1e-3 }]]);
    const zoPeak = m.memory().hostPeakBytes;
    m.dispose();
    expect(row('dpzo').peakBytes).toBe(zoPeak);
    expect(row('dpsgd-per-example').components.perExample).toBe(3 * P * 4);
  });

  it('a float16/bfloat16 checkpoint (as facebook/opt-* are) is measured in float32 by every method, as DP-SGD\'s backward needs: it failed at DP-SGD', { timeout: 120_000 }, async () => {
    const dir = join(tmp.dir, 'bf16');
    writeRandomCheckpoint(dir, { family: 'llama', seed: 7, vocabSize: 32, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64, dtype: 'BF16' });
    const r = await dpzo('bench', 'memory', '--model', dir, '--batch', '2', '--seq', '8', '--threads', '1', '--out', join(tmp.dir, 'out-bf16'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as MemoryReport;
    expect(report.dtype).toBe('float32');
    expect(report.rows.map((x) => x.method)).toEqual(['inference', 'dpzo', 'dpzo-n4', 'dpsgd-per-example', 'dpsgd-ghost']);
    const m = await loadModel(dir, { threads: 1 });
    for (const row of report.rows) expect(row.components.weights).toBe(m.numParameters * 4);
    m.dispose();
  });

  it('extrapolation: OPT parameter counts, 2 bytes each, working memory scaled by the width', () => {
    expect(optParams(OPT_FAMILY[0]!) / 1e6).toBeCloseTo(125.2, 1); // OPT-125M
    expect(optParams(OPT_FAMILY.find((s) => s.name === 'opt-6.7b')!) / 1e9).toBeCloseTo(6.66, 2);
    const rows = [{ method: 'inference' as const, peakBytes: 0, rssPeakBytes: 0, stepSeconds: 1, components: { weights: 0, gradients: 0, optimizerState: 0, activations: 1000, perExample: 0 } }];
    const e = extrapolate(rows, { hiddenSize: 100, numLayers: 2, numTrainable: 1000 });
    const s = OPT_FAMILY[7]!; // 66B
    expect(e[7]!.peakBytes.inference).toBe(2 * optParams(s) + (1000 * s.hidden) / 100);
    expect(e[7]!.fits['141GB']!.inference).toBe(true);
    expect(e[7]!.fits['80GB']!.inference).toBe(false);
  });

  it('units: binary throughout (MiB, GiB), each GPU card checked at the memory its driver reports', async () => {
    // a peak of 79.5 GiB (85.4e9 bytes) fits an H100 (81559 MiB): it was checked against 80e9 bytes and did not
    expect(GPU_CARDS.map((c) => c.bytes / 2 ** 20)).toEqual([24564, 81559, 143771]);
    const s = OPT_FAMILY[0]!;
    const target = 79.5 * 2 ** 30;
    const activations = target - 2 * optParams(s);
    const rows = [{ method: 'inference' as const, peakBytes: 0, rssPeakBytes: 0, stepSeconds: 1, components: { weights: 0, gradients: 0, optimizerState: 0, activations, perExample: 0 } }];
    const e = extrapolate(rows, { hiddenSize: s.hidden, numLayers: s.layers, numTrainable: 1000 })[0]!;
    expect(e.peakBytes.inference).toBeCloseTo(target, 0);
    expect(Object.keys(e.fits)).toEqual(['24GB', '80GB', '141GB']);
    expect(e.fits['80GB']!.inference).toBe(true);
    expect(e.fits['24GB']!.inference).toBe(false);
    expect(formatBytes(2 ** 30)).toBe('1.00 GiB');
    expect(formatBytes(5 * 2 ** 20)).toBe('5.0 MiB');
    // the host memory a refusal names is in GiB too (it was 10^9-byte GB)
    const dir = join(tmp.dir, 'opt-1.3b-config');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), optConfigJson(OPT_FAMILY.find((x) => x.name === 'opt-1.3b')!));
    await expect(benchMemory({ model: dir, batch: 1, seq: 8, device: 'cpu', availableBytes: 2 ** 30 })).rejects.toThrow(/needs at least \d+\.\d GiB of host memory .* and 1\.0 GiB is available/);
  });

  it('--device auto without a GPU: the report says cpu and host memory (it said device "auto"), in JSON and in the table', { timeout: 120_000 }, async (ctx) => {
    if ((nativeAddon().cudaDevices?.() ?? 0) > 0) ctx.skip(); // a GPU would be picked: not this machine's case
    const json = await dpzo('bench', 'memory', '--model', MODEL, '--batch', '1', '--seq', '4', '--threads', '1', '--device', 'auto', '--out', join(tmp.dir, 'out-auto'), '--json');
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as MemoryReport;
    expect(report).toMatchObject({ device: 'cpu', deviceRequested: 'auto', memory: 'host' });
    const table = await dpzo('bench', 'memory', '--model', MODEL, '--batch', '1', '--seq', '4', '--threads', '1', '--device', 'auto', '--out', join(tmp.dir, 'out-auto-table'));
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('device cpu (--device auto): weights and peaks in host memory');
    expect(table.stdout).toContain('fits on a 24GB (23.99 GiB) / 80GB (79.65 GiB) / 141GB (140.40 GiB) card');
    expect(table.stdout).not.toMatch(/\d (GB|MB)\b/);
  });

  it('bad input: one line, exit 2', async () => {
    const r = await dpzo('bench', 'memory', '--model', join(tmp.dir, 'missing'), '--out', join(tmp.dir, 'never'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
  });

  it('--seq and --batch are counts, not thread counts: 2048 passes the options (it was refused as above 1024), 0 does not', async () => {
    const r = await dpzo('bench', 'memory', '--model', join(tmp.dir, 'missing'), '--seq', '2048', '--batch', '2048', '--out', join(tmp.dir, 'never'));
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/--seq|--batch/);
    expect(r.stderr).toMatch(/missing/);
    const zero = await dpzo('bench', 'memory', '--model', join(tmp.dir, 'missing'), '--seq', '0', '--out', join(tmp.dir, 'never'));
    expect(zero.status).toBe(2);
    expect(zero.stderr).toMatch(/--seq.*must be a positive integer/);
  });
});
