// The fuzz driver, run in a child process so that a signal or a hang is seen by the parent
// (fuzz.test.ts) instead of killing the test runner: seeded random mutations of a small
// checkpoint's safetensors header, its config.json, and JSONL / TSV data files, each fed to the
// library the way the CLI feeds it (loadModel + a forward; loadDataset). One JSON line per case:
// { i, target, mutation, ok, code?, message? }.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadDataset } from '../../lib/data/load.js';
import { loadModel } from '../../lib/model/model.js';
import { writeByteTokenizer } from '../helpers/byte-tokenizer.js';
import { writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { Rng } from '../helpers/prng.js';
import { Mutator } from './mutate.js';

export const SECRET = 'SECRETmarker';
const [seedArg, countArg, dir] = process.argv.slice(2);
const rng = new Rng(Number(seedArg));
const count = Number(countArg);
const base = join(dir!, 'base');
writeRandomCheckpoint(base, { family: 'llama', seed: 3, vocabSize: 260, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
writeByteTokenizer(base);
const baseConfig = readFileSync(join(base, 'config.json'), 'utf8');
const baseWeights = readFileSync(join(base, 'model.safetensors'));
const headerLen = Number(baseWeights.readBigUInt64LE(0));

const mut = new Mutator(rng);
const pick = <T>(xs: readonly T[]): T => mut.pick(xs);
const int = (n: number) => mut.int(n);
const mutateBytes = (buf: Buffer, lo: number, hi: number) => mut.bytes(buf, lo, hi);
const mutateJson = (obj: Record<string, unknown>) => mut.json(obj);

async function tryModel(caseDir: string): Promise<void> {
  const m = await loadModel(caseDir, { threads: 1 });
  try {
    await m.perExampleLoss({ inputIds: [Int32Array.from([1, 5, 9, 2]), Int32Array.from([1, 200, 2])] });
    await m.perturb(7n, 1e-3);
  } finally {
    m.dispose();
  }
}

function dataRows(): string[] {
  return Array.from({ length: 6 }, (_, i) => JSON.stringify({ sentence: `${SECRET} row ${i} alice@example.com`, label: i % 2, input_ids: [1, 3 + i, 7, 2] }));
}

async function runCase(i: number): Promise<Record<string, unknown>> {
  const caseDir = join(dir!, `case-${i}`);
  mkdirSync(caseDir, { recursive: true });
  const target = pick(['safetensors', 'config', 'jsonl', 'tsv']);
  let mutation = '';
  try {
    if (target === 'safetensors' || target === 'config') {
      copyFileSync(join(base, 'tokenizer.json'), join(caseDir, 'tokenizer.json'));
      let weights: Buffer = baseWeights;
      let config = baseConfig;
      if (target === 'safetensors') {
        if (rng.uniform() < 0.5) {
          ({ out: weights, how: mutation } = mutateBytes(baseWeights, 0, 8 + headerLen));
        } else {
          const header = JSON.parse(baseWeights.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
          mutation = mutateJson(header);
          const h = Buffer.from(JSON.stringify(header));
          const len = Buffer.alloc(8);
          len.writeBigUInt64LE(BigInt(h.length));
          weights = Buffer.concat([len, h, baseWeights.subarray(8 + headerLen)]);
        }
      } else if (rng.uniform() < 0.3) {
        const m = mutateBytes(Buffer.from(baseConfig), 0, baseConfig.length);
        config = m.out.toString('latin1');
        mutation = m.how;
      } else {
        const c = JSON.parse(baseConfig) as Record<string, unknown>;
        mutation = mutateJson(c);
        config = JSON.stringify(c);
      }
      writeFileSync(join(caseDir, 'model.safetensors'), weights);
      writeFileSync(join(caseDir, 'config.json'), config);
      await tryModel(caseDir);
    } else {
      const rows = dataRows();
      let text: Buffer;
      if (target === 'jsonl') {
        const r = int(rows.length);
        if (rng.uniform() < 0.5) {
          const obj = JSON.parse(rows[r]!) as Record<string, unknown>;
          mutation = mutateJson(obj);
          rows[r] = JSON.stringify(obj);
          text = Buffer.from(rows.join('\n') + '\n');
        } else {
          const all = Buffer.from(rows.join('\n') + '\n');
          ({ out: text, how: mutation } = mutateBytes(all, 0, all.length));
        }
      } else {
        const tsv = ['sentence\tlabel', ...rows.map((r) => `${(JSON.parse(r) as { sentence: string }).sentence}\t${int(2)}`)].join('\n') + '\n';
        ({ out: text, how: mutation } = mutateBytes(Buffer.from(tsv), 0, tsv.length));
        if (rng.uniform() < 0.3) text = Buffer.from(text.toString('utf8').replace(/\t/, '\t\t'));
      }
      const file = join(caseDir, `data.${target}`);
      writeFileSync(file, text);
      const config = { vocabSize: 260, maxPositions: 64 };
      if (target === 'jsonl') loadDataset(file, { task: { kind: 'tokens' }, modelDir: base, config });
      else loadDataset(file, { task: { kind: 'classification', labelWords: ['no', 'yes'] }, modelDir: base, config });
    }
    return { i, target, mutation, ok: true };
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { i, target, mutation, ok: false, code: err.code ?? null, message: err.message, name: err.name };
  } finally {
    rmSync(caseDir, { recursive: true, force: true });
  }
}

for (let i = 0; i < count; i++) process.stdout.write(JSON.stringify(await runCase(i)) + '\n');
