// `dpzo pretrain` (issue 13): non-private training on public text through the backward pass lowers the
// held-out loss (the demo model's byte-level Llama on paragraphs of this repository's own docs, public
// English text), saves a Hugging Face directory that loads with the reported weights and checkpoints, is
// reproducible from its seed, and refuses bad input in one line.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { type CliResult, ROOT, dpzo } from '../helpers/cli.js';

const tmp = makeTempDir('dpzo-pretrain-');
afterAll(() => tmp.cleanup());
const MODEL = join(tmp.dir, 'base');
cpSync(join(ROOT, 'data', 'models', 'byte-llama'), MODEL, { recursive: true });
const paragraphs = ['README.md', 'docs/privacy.md', 'docs/training.md']
  .flatMap((f) => readFileSync(join(ROOT, f), 'utf8').split(/\n\s*\n/))
  .map((p) => p.replace(/\s+/g, ' ').trim())
  .filter((p) => p.length > 40 && !p.startsWith('|') && !p.startsWith('`'))
  .map((p) => p.slice(0, 160));
const TRAIN = join(tmp.dir, 'train.jsonl');
const EVAL = join(tmp.dir, 'eval.jsonl');
writeFileSync(TRAIN, paragraphs.filter((_, i) => i % 5 !== 0).map((text) => JSON.stringify({ text })).join('\n') + '\n');
writeFileSync(EVAL, paragraphs.filter((_, i) => i % 5 === 0).map((text) => JSON.stringify({ text })).join('\n') + '\n');

interface Out {
  steps: number;
  weightsHash: string;
  evalBefore: { loss: number };
  evalAfter: { loss: number };
  checkpoints: string[];
  private: boolean;
}
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out;
const run = (out: string, ...extra: string[]) =>
  dpzo('pretrain', '--model', MODEL, '--data', TRAIN, '--eval', EVAL, '--batch-size', '8', '--lr', '3e-3', '--max-length', '128', '--threads', '1', '--out', out, '--json', ...extra);

describe('dpzo pretrain', () => {
  it('lowers the held-out loss on public text and saves a model that loads with the reported weights', { timeout: 120_000 }, async () => {
    expect(paragraphs.length).toBeGreaterThan(40);
    const out = join(tmp.dir, 'out');
    const r = await run(out, '--steps', '60', '--checkpoint-every', '30');
    expect(r.status, r.stderr).toBe(0);
    const o = json(r);
    expect(o.private).toBe(false);
    expect(o.steps).toBe(60);
    expect(o.evalAfter.loss).toBeLessThan(o.evalBefore.loss - 1); // random byte model ≈ ln 256 before
    expect(o.checkpoints).toEqual([join(out, 'checkpoint-30')]);
    const m = await loadModel(out, { threads: 1 });
    expect(await m.weightsHash()).toBe(o.weightsHash);
    m.dispose();
    expect(readFileSync(join(out, 'tokenizer.json'))).toEqual(readFileSync(join(MODEL, 'tokenizer.json')));
    // a model card (there was none): no privacy claim, how it was trained, the weights it describes
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toMatch(/^# NOT PRIVATE: pretrained on public data$/m);
    expect(card).toContain(`| training data | \`train.jsonl\`, ${paragraphs.filter((_, i) => i % 5 !== 0).length} examples (public) |`);
    expect(card).toContain('| steps | 60 of 60 (completed), batch 8, lr 0.003');
    expect(card).toContain(`| held-out loss | ${o.evalBefore.loss.toFixed(4)} before, ${o.evalAfter.loss.toFixed(4)} after |`);
    expect(card).toContain(`SHA-256 \`${o.weightsHash}\``);
    expect(card).toContain('`base` (a local directory)');
    expect(card).not.toContain(tmp.dir); // no path on the maker's machine
  });

  it('is reproducible from its seed, and the seed matters', { timeout: 120_000 }, async () => {
    const [a, b, c] = await Promise.all([run(join(tmp.dir, 'a'), '--steps', '5'), run(join(tmp.dir, 'b'), '--steps', '5'), run(join(tmp.dir, 'c'), '--steps', '5', '--seed', '7')]);
    for (const x of [a, b, c]) expect(x.status, x.stderr).toBe(0);
    expect(json(a).weightsHash).toBe(json(b).weightsHash);
    expect(json(c).weightsHash).not.toBe(json(a).weightsHash);
  });

  it('bad input: one line, exit 2', async () => {
    const [task, full] = await Promise.all([
      dpzo('pretrain', '--model', MODEL, '--data', TRAIN, '--task', 'classification', '--out', join(tmp.dir, 'never')),
      dpzo('pretrain', '--model', MODEL, '--data', TRAIN, '--out', MODEL),
    ]);
    for (const r of [task, full]) {
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(full.stderr).toMatch(/not empty/);
  });
});
