// defines: RunConfig — a whole training run as plain JSON (what `dpzo train`
// flags and `--config FILE` describe, and what run.json keeps for --resume) —
// with its zod schema, and taskSpecOf, the data task it implies.
import { z } from 'zod';

import type { TaskSpec } from '../data/tasks.js';
import { DpzoError } from '../errors.js';

const num = z.number().finite();
export const RunConfigSchema = z
  .object({
    model: z.string().min(1),
    data: z.string().min(1),
    task: z.enum(['lm', 'classification', 'tokens']),
    eval: z.string().min(1).optional(),
    evalPublic: z.boolean().optional(),
    privateDiagnostics: z.boolean().optional(),
    evalEvery: z.number().int().nonnegative().optional(),
    evalMax: z.number().int().positive().optional(),
    epsilon: num.positive(),
    delta: num.positive().lt(1),
    accountant: z.enum(['pld', 'rdp']).optional(),
    mechanism: z.enum(['gaussian', 'laplace']).optional(),
    noiseMultiplier: num.positive().optional(),
    laplaceScale: num.positive().optional(),
    batchSize: num.positive().optional(),
    steps: z.number().int().positive().optional(),
    epochs: num.positive().optional(),
    lr: num.nonnegative().optional(),
    schedule: z.enum(['constant', 'linear', 'cosine']).optional(),
    warmupSteps: z.number().int().nonnegative().optional(),
    zoEps: num.positive().optional(),
    clip: num.positive().optional(),
    directions: z.number().int().positive().optional(),
    weightDecay: num.nonnegative().optional(),
    trainable: z.union([z.string(), z.array(z.string())]).optional(),
    out: z.string().min(1).optional(),
    threads: z.number().int().positive().optional(),
    dtype: z.enum(['float32', 'float16', 'bfloat16']).optional(),
    template: z.string().optional(),
    labelWords: z.union([z.array(z.string()), z.record(z.string(), z.string())]).optional(),
    textField: z.string().optional(),
    labelField: z.string().optional(),
    promptField: z.string().optional(),
    completionField: z.string().optional(),
    inputField: z.string().optional(),
    labelsField: z.string().optional(),
    maxLength: z.number().int().positive().optional(),
    limit: z.number().int().positive().optional(),
    maxBatchTokens: z.number().int().positive().optional(),
  })
  .strict();

export type RunConfig = z.infer<typeof RunConfigSchema>;

export const DEFAULT_BATCH_SIZE = 16;

export function parseRunConfig(value: unknown, where: string): RunConfig {
  const r = RunConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.') || '(root)';
    throw new DpzoError('ERR_TRAIN_OPTION', `${where}: ${path}: ${issue.message}`);
  }
  return r.data;
}

export function trainablePatterns(t: RunConfig['trainable']): string[] | undefined {
  if (t === undefined) return undefined;
  const list = Array.isArray(t) ? t : t.split(',');
  const out = list.map((s) => s.trim()).filter(Boolean);
  return out.length > 0 ? out : undefined;
}

export function taskSpecOf(c: RunConfig): TaskSpec {
  if (c.task === 'tokens') return { kind: 'tokens', inputField: c.inputField, labelsField: c.labelsField };
  if (c.task === 'classification') return { kind: 'classification', textField: c.textField, labelField: c.labelField, template: c.template, labelWords: c.labelWords };
  return { kind: 'lm', textField: c.textField, promptField: c.promptField, completionField: c.completionField };
}
