// The demo model's README (lib/demo-model/readme.ts) states the recipe it was made with: it said `--threads 2` and
// "a 2-core machine" whatever `npm run make-demo-model -- --threads N` ran with, and the weights are the same at the
// same thread count only (docs/training.md), so a model made with --threads 4 documented a recipe that does not
// reproduce it.
import { describe, expect, it } from 'vitest';

import { modelReadme } from '../../../lib/demo-model/readme.js';
import { DEMO_MODEL } from '../../../lib/demo-model/recipe.js';
import { llamaConfig } from '../../../lib/demo-model/llama-init.js';

const facts = (threads: number, cores: number) => ({
  recipe: DEMO_MODEL,
  vocabSize: 12288,
  config: llamaConfig({ ...DEMO_MODEL.shape, vocabSize: 12288 }),
  trainTexts: 1000,
  bookTexts: 100,
  thesaurusTexts: 200,
  heldOutTexts: 50,
  coverage: 0.9,
  report: { evalBefore: { loss: 9.4 }, evalAfter: { loss: 4.6 }, seconds: 600, weightsHash: 'ab'.repeat(32) },
  wallSeconds: 660,
  threads,
  cores,
});

describe('the demo model README', () => {
  it('names the thread count and the cores the model was made with', () => {
    const text = modelReadme(facts(4, 16));
    expect(text.match(/`--threads 4`/g)).toHaveLength(2);
    expect(text).not.toMatch(/--threads 2/);
    expect(text).toMatch(/on a 16-core machine/);
    expect(text).toMatch(/Pretraining took 600 s \(11\.0 minutes with the data preparation\)/);
  });

  it('is unchanged for the recipe as shipped (--threads 2 on 2 cores)', () => {
    const text = modelReadme(facts(2, 2));
    expect(text.match(/`--threads 2`/g)).toHaveLength(2);
    expect(text).toMatch(/on a 2-core machine/);
  });
});
