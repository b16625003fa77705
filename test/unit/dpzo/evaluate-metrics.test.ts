// evaluate (lib/dpzo/evaluate.ts) against the standard definitions, with a stub model whose losses, targets and
// candidate logits are chosen by hand: accuracy = correct / examples with the argmax of the label-word logits, the lm
// loss weighted per target token, SQuAD exact match and F1 averaged over the generated examples.
import { describe, expect, it } from 'vitest';

import type { Dataset, Example } from '../../../lib/data/tasks.js';
import { evalRows, printTable } from '../../../lib/cli/format.js';
import { evaluate } from '../../../lib/dpzo/evaluate.js';
import type { LossBatch, Model } from '../../../lib/model/types.js';

/** A model that answers perExampleLoss from tables indexed by each sequence's first token id. */
function stub(rows: { loss: number; targets: number; logits?: number[] }[], generations: number[][] = []): Model {
  let g = 0;
  return {
    perExampleLoss: async (b: LossBatch) => {
      const r = b.inputIds.map((ids) => rows[ids[0]!]!);
      const K = b.candidates?.length ?? 0;
      return {
        loss: Float64Array.from(r.map((x) => x.loss)),
        targets: Int32Array.from(r.map((x) => x.targets)),
        ...(K ? { candidateLogits: Float32Array.from(r.flatMap((x) => x.logits!)) } : {}),
      };
    },
    generate: async () => Int32Array.from(generations[g++] ?? []),
  } as unknown as Model;
}

const ex = (i: number, extra: Partial<Example> = {}): Example => ({ inputIds: Int32Array.of(i, 5, 6), ...extra });

function classification(classes: number[]): Dataset {
  return {
    task: { kind: 'classification' } as Dataset['task'],
    source: '',
    examples: classes.map((c, i) => ex(i, { classIndex: c })),
    candidates: Int32Array.of(10, 11),
    labelNames: ['0', '1'],
    generative: false,
  };
}

describe('evaluate: accuracy', () => {
  it('is the fraction whose label word scores highest', async () => {
    const m = stub([
      { loss: 1, targets: 1, logits: [2, 1] },
      { loss: 2, targets: 1, logits: [0, 3] },
      { loss: 3, targets: 1, logits: [5, 4] },
      { loss: 4, targets: 1, logits: [1, 2] },
    ]);
    const r = await evaluate(m, classification([0, 1, 1, 0]));
    expect(r.accuracy).toBe(0.5);
    expect(r.loss).toBe(2.5); // per example
  });

  it('a row of NaN logits predicts no class (NaN in the first place predicted class 0: a diverged model scored the share of class 0)', async () => {
    const m = stub([
      { loss: NaN, targets: 1, logits: [NaN, 1] },
      { loss: NaN, targets: 1, logits: [NaN, NaN] },
      { loss: NaN, targets: 1, logits: [1, NaN] },
    ]);
    const r = await evaluate(m, classification([0, 0, 0]));
    expect(r.accuracy).toBe(0);
  });
});

describe('evaluate: lm loss', () => {
  it('is weighted per target token, not per example, and skips sequences without targets', async () => {
    const m = stub([
      { loss: 1, targets: 1 },
      { loss: 4, targets: 3 },
      { loss: NaN, targets: 0 },
    ]);
    const ds: Dataset = { task: { kind: 'lm' } as Dataset['task'], source: '', examples: [ex(0), ex(1), ex(2)], generative: false };
    const r = await evaluate(m, ds);
    expect(r.loss).toBe((1 * 1 + 4 * 3) / 4);
    expect(r.metric).toBe('loss');
  });
});

describe('evaluate: exact match and F1', () => {
  it('are SQuAD means over the generated examples, and say how many were generated (the table said examples 3 above an F1 of 2)', async () => {
    const words = ['paris', 'the eiffel tower', 'x'];
    const m = stub(
      [
        { loss: 1, targets: 1 },
        { loss: 1, targets: 1 },
        { loss: 1, targets: 1 },
      ],
      [[0], [1], [2]],
    );
    const ds: Dataset = {
      task: { kind: 'lm' } as Dataset['task'],
      source: '',
      examples: [
        ex(0, { promptIds: Int32Array.of(0), reference: 'Paris' }),
        ex(1, { promptIds: Int32Array.of(1), reference: 'Eiffel Tower in Paris' }),
        ex(2, { promptIds: Int32Array.of(2), reference: 'y' }),
      ],
      generative: true,
    };
    const r = await evaluate(m, ds, { decode: (ids) => words[ids[0]!]!, maxGenerate: 2 });
    expect(r.metric).toBe('f1');
    expect(r.exactMatch).toBe(0.5);
    expect(r.f1).toBeCloseTo((1 + (2 * 1 * 0.5) / 1.5) / 2, 12);
    expect(r.generated).toBe(2);
    const rows = new Map(evalRows(r));
    expect(rows.get('examples')).toBe('3');
    expect(rows.get('F1')).toMatch(/first 2 of 3 examples/);
  });

  it('the eval table writes ∞ and — (it printed Infinity and NaN)', () => {
    const rows = new Map(evalRows({ metric: 'loss', value: Infinity, examples: 2, loss: Infinity }));
    expect(rows.get('loss')).toBe('∞');
    expect(new Map(evalRows({ metric: 'accuracy', value: NaN, examples: 2, loss: NaN, accuracy: NaN })).get('accuracy')).toBe('—');
  });
});

describe('printTable', () => {
  it('writes control characters as ? (a stopReason or warning from a run directory reached the terminal raw)', () => {
    let text = '';
    printTable([['status', 'completed\u001b]0;owned\u0007\nextra line']], { write: (s: string) => (text += s) } as unknown as NodeJS.WritableStream);
    expect(text).toBe('status  completed?]0;owned??extra line\n');
  });
});
