// defines: evaluate — held-out metrics at the current θ: accuracy (and
// candidate loss) for classification, token-weighted loss for lm, and for
// prompt/completion data greedy generation scored by exact match and token F1.
import type { Dataset, Example } from '../data/tasks.js';
import { DpzoError } from '../errors.js';
import { unknownKey } from '../unknown-key.js';
import type { Model } from '../model/types.js';
import { exactMatch, tokenF1 } from './squad.js';

/** The headline metric of an evaluation: accuracy (classification), f1 (prompt/completion with a tokenizer) or loss (otherwise). */
export type MetricName = 'accuracy' | 'loss' | 'f1';

/** Options of {@link evaluate}. */
export interface EvalOptions {
  /** Score only the first n examples (default: all). */
  maxExamples?: number;
  /** Most tokens per forward call (default 16384): bounds memory, not the result. */
  maxBatchTokens?: number;
  /** Generation: decode ids to text (the tokenizer); without it, generation metrics are skipped. */
  decode?: (ids: number[]) => string;
  /** Token that ends a generation (default: none, generate `maxNewTokens`). */
  eosTokenId?: number | null;
  /** Longest generation in tokens (default 32); only the first line of the decoded text is scored. */
  maxNewTokens?: number;
  /** Examples scored by generation (it is sequential and slow), default 100. */
  maxGenerate?: number;
  /** Cancels the evaluation (rejects with `ERR_CANCELLED`). */
  signal?: AbortSignal;
}

/** Metrics of one evaluation. Computed on whatever set was given: when it is private, they are outside the privacy guarantee. */
export interface EvalResult {
  /** The headline metric: accuracy (classification), f1 (prompt/completion with a tokenizer), else loss. */
  metric: MetricName;
  /** Value of `metric`. */
  value: number;
  /** Examples scored (for loss and accuracy). */
  examples: number;
  /** Mean loss per target token (lm) or per example (classification). */
  loss: number;
  /** classification: fraction of examples whose label word scored highest among the candidates (0..1). */
  accuracy?: number;
  /** prompt/completion: mean SQuAD exact match of the greedy generations (0..1), over at most `maxGenerate` examples. */
  exactMatch?: number;
  /** prompt/completion: mean SQuAD token F1 of the greedy generations (0..1), over at most `maxGenerate` examples. */
  f1?: number;
  /** prompt/completion: the examples exact match and F1 were computed on (the first `maxGenerate` of `examples`). */
  generated?: number;
}

/** The metric {@link evaluate} reports as `metric` for a dataset: accuracy for classification, f1 for generative data when text can be decoded, else loss. */
export function headlineMetric(ds: Dataset, canDecode: boolean): MetricName {
  if (ds.task.kind === 'classification') return 'accuracy';
  return ds.generative && canDecode ? 'f1' : 'loss';
}

/** Higher is better for accuracy and F1, lower for loss. */
export function improved(metric: MetricName, before: number, after: number): boolean {
  return metric === 'loss' ? after < before : after > before;
}

function chunks(examples: Example[], maxTokens: number): Example[][] {
  const out: Example[][] = [];
  let cur: Example[] = [];
  let tokens = 0;
  for (const e of examples) {
    if (cur.length > 0 && tokens + e.inputIds.length > maxTokens) {
      out.push(cur);
      cur = [];
      tokens = 0;
    }
    cur.push(e);
    tokens += e.inputIds.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

const OPTION_KEYS: Record<keyof EvalOptions, true> = {
  maxExamples: true,
  maxBatchTokens: true,
  decode: true,
  eosTokenId: true,
  maxNewTokens: true,
  maxGenerate: true,
  signal: true,
};

/** A misspelt option was ignored, and maxExamples NaN scored nothing (slice(0, NaN)): accuracy 0/0. */
function checkOptions(opts: EvalOptions): void {
  const bad = (m: string) => new DpzoError('ERR_ARGUMENT', m);
  if (typeof opts !== 'object' || opts === null) throw bad('evaluate options must be an object');
  const unknown = unknownKey(opts, OPTION_KEYS);
  if (unknown !== undefined) throw bad(`${unknown} is not an option of evaluate (misspelt?)`);
  for (const k of ['maxExamples', 'maxBatchTokens', 'maxNewTokens', 'maxGenerate'] as const) {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw bad(`${k} must be a positive integer (got ${v})`);
  }
}

/**
 * Held-out metrics of `model` at its current weights: mean loss per target token (lm) or per example (classification, cross-entropy over the label words),
 * accuracy, and for prompt/completion data with `decode` greedy generation scored by exact match and token F1. Reads the model only; makes no release.
 * @throws {@link DpzoError} `ERR_ARGUMENT` for a bad option (a name that is not one, a count that is not a positive integer), `ERR_DATA_EMPTY` for a set
 * with no examples (or, for lm, no target tokens); native errors of the
 * forward (`ERR_CANCELLED`, `ERR_OUT_OF_MEMORY`, …).
 */
export async function evaluate(model: Model, ds: Dataset, opts: EvalOptions = {}): Promise<EvalResult> {
  checkOptions(opts);
  const examples = ds.examples.slice(0, opts.maxExamples ?? ds.examples.length);
  // an empty held-out set scored NaN (0/0), which a caller's comparison or a curve took as a number
  if (examples.length === 0) throw new DpzoError('ERR_DATA_EMPTY', 'the evaluation set has no examples');
  let lossSum = 0;
  let weight = 0;
  let correct = 0;
  const K = ds.candidates?.length ?? 0;
  for (const chunk of chunks(examples, opts.maxBatchTokens ?? 16384)) {
    const r = await model.perExampleLoss(
      {
        inputIds: chunk.map((e) => e.inputIds),
        labels: chunk.some((e) => e.labels) ? chunk.map((e) => e.labels ?? shiftLabels(e.inputIds)) : undefined,
        candidates: ds.candidates,
      },
      { signal: opts.signal },
    );
    chunk.forEach((e, i) => {
      const l = r.loss[i]!;
      if (ds.task.kind === 'classification') {
        lossSum += l;
        weight += 1;
        const row = r.candidateLogits!.subarray(i * K, (i + 1) * K);
        // a NaN logit (a diverged model) predicts no class: comparisons with NaN are false, so class 0 won every such row
        // (a model whose logits were all NaN scored the share of class 0)
        let best = 0;
        for (let k = 1; k < K; k++) if (row[k]! > row[best]!) best = k;
        if (best === e.classIndex && !row.some(Number.isNaN)) correct++;
      } else if (r.targets[i]! > 0) {
        lossSum += l * r.targets[i]!;
        weight += r.targets[i]!;
      }
    });
  }
  // lm examples whose labels are all -100 have nothing to score: a NaN loss was not a measurement
  if (weight === 0) throw new DpzoError('ERR_DATA_EMPTY', 'the evaluation set has no target tokens (every label is -100)');
  const loss = lossSum / weight;
  const metric = headlineMetric(ds, opts.decode !== undefined);
  const out: EvalResult = { metric, value: loss, examples: examples.length, loss };
  if (ds.task.kind === 'classification') {
    out.accuracy = correct / examples.length;
    out.value = out.accuracy;
  }
  if (metric === 'f1') {
    const gen = examples.slice(0, opts.maxGenerate ?? 100);
    let em = 0;
    let f1 = 0;
    for (const e of gen) {
      const ids = await model.generate(e.promptIds!, opts.maxNewTokens ?? 32, { signal: opts.signal, eosTokenId: opts.eosTokenId ?? undefined });
      const text = opts.decode!(ids).split('\n')[0]!;
      em += exactMatch(text, e.reference!);
      f1 += tokenF1(text, e.reference!);
    }
    out.exactMatch = em / gen.length;
    out.f1 = f1 / gen.length;
    out.generated = gen.length;
    out.value = out.f1;
  }
  return out;
}

function shiftLabels(ids: Int32Array): Int32Array {
  const l = Int32Array.from(ids);
  l[0] = -100;
  return l;
}
