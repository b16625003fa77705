// The demo's pretrained model as shipped (data/models/word-llama): its tokenizer loads through the
// project's tokenizer layer and gives the prompt's label words their own in-vocabulary tokens, and
// the checkpoint is truly pretrained: on public text it never saw (SST-2 validation sentences, and the
// recipe's AG News held-out slice where the shared data is present) its loss is far below that of a
// random model of the same shape (the recipe's random start, another seed).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { evaluate, loadDataset, loadModel, loadTokenizer } from '../../lib/index.js';
import { DEMO_RUN } from '../../lib/cli/commands/demo.js';
import { readAgNews } from '../../lib/demo-model/corpus.js';
import { writeRandomLlama } from '../../lib/demo-model/llama-init.js';
import { DEMO_MODEL } from '../../lib/demo-model/recipe.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { ROOT } from '../helpers/cli.js';
import { SHARED } from '../helpers/shared.js';

const DIR = join(ROOT, DEMO_RUN.model);
const tmp = makeTempDir('dpzo-demo-model-');
afterAll(() => tmp.cleanup());

describe('the demo model', () => {
  it('has a tokenizer that gives each label word one known token and round-trips the prompt', () => {
    const tok = loadTokenizer(DIR);
    const ids = DEMO_RUN.labelWords.map((w) => tok.encode(w, false));
    for (const x of ids) {
      expect(x).toHaveLength(1);
      expect(x[0]).toBeGreaterThan(2); // not <unk>, <s>, </s>
    }
    expect(ids[0]![0]).not.toBe(ids[1]![0]);
    DEMO_RUN.labelWords.forEach((w, k) => expect(tok.decode(ids[k]!)).toBe(w.trim()));
    const prompt = `the acting is fine${DEMO_RUN.template.replace('{sentence}', '')}${DEMO_RUN.labelWords[1]}`;
    expect(tok.decode(tok.encode(prompt, true))).toBe(prompt.toLowerCase().trim());
    expect(tok.encode('x', true)[0]).toBe(1); // <s> first
    expect(tok.eosId).toBe(2);
  });

  /** Public English text the pretraining never saw: the recipe's AG News held-out slice (with the shared data), and SST-2 validation sentences (shipped). */
  const heldOut: { name: string; texts: () => string[] }[] = [
    {
      // shipped, so this runs everywhere; no movie-review text is in the pretraining data
      name: 'SST-2 validation sentences',
      texts: () =>
        readFileSync(join(ROOT, 'data/sst2/test.tsv'), 'utf8')
          .split('\n')
          .slice(1)
          .map((l) => l.split('\t')[0]!.trim())
          .filter((t) => t !== '')
          .slice(0, 150),
    },
  ];
  const agNews = join(SHARED, 'data/agnews/test.tsv');
  // every 10th line of AG News test.tsv is the recipe's held-out set; the first 150 of them
  if (existsSync(agNews)) heldOut.push({ name: 'AG News held-out texts', texts: () => readAgNews(agNews).filter((_, i) => i % 10 === 0).slice(0, 150) });
  else it.skip(`is pretrained on AG News held-out text (needs ${agNews})`, () => {});

  it.each(heldOut)('is pretrained: on $name its loss is far below a random model of the same shape', { timeout: 120_000 }, async ({ name, texts }) => {
    const file = join(tmp.dir, `heldout-${heldOut.findIndex((h) => h.name === name)}.jsonl`);
    writeFileSync(file, texts().map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const random = join(tmp.dir, 'random');
    const cfg = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as { vocab_size: number };
    writeRandomLlama(random, { ...DEMO_MODEL.shape, vocabSize: cfg.vocab_size }, 12345);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(DIR, f), join(random, f));
    const loss = async (dir: string) => {
      const m = await loadModel(dir, { threads: 2 });
      try {
        const ds = loadDataset(file, { task: { kind: 'lm', textField: 'text' }, modelDir: dir, config: m.config, maxLength: DEMO_MODEL.maxLength });
        return (await evaluate(m, ds)).loss;
      } finally {
        m.dispose();
      }
    };
    const [trained, untrained] = [await loss(DIR), await loss(random)];
    expect(untrained).toBeGreaterThan(Math.log(cfg.vocab_size) - 0.5); // a random model is about uniform
    expect(trained).toBeLessThan(untrained - 2.5);
  });
});
