// defines: the trainer's test hook — injected seeds, noise or batches for tests
// that check a step by hand. It is deliberately not exported from the package's
// public API (lib/index.ts, lib/dpzo/index.ts); a trainer with hooks marks its
// run.json and report `private: false`, so a run made this way can never pass
// for a private one. Keyed by the trainer object, so this file imports nothing
// of the trainer's (no type loop hooks ↔ trainer).

export interface TrainerTestHooks {
  /** Direction seeds of `step` (n of them; DP-ZO only). */
  seeds?: (step: number, n: number) => bigint[];
  /** The noise ξ of `step` (n values, already scaled: N(0, σ²C²) or Laplace(b)); for DP-SGD n is the number of trainable parameters. */
  noise?: (step: number, n: number) => Float64Array;
  /** The batch of `step` (indices into the training set). */
  batch?: (step: number) => number[];
  /** DP-ZO only: reads or rewrites the per-example scalars g (|batch| × n, row-major) of `step` before they are clipped (the privacy audit's canaries). */
  scalars?: (step: number, batch: readonly number[], g: Float64Array, n: number) => void;
}

const registry = new WeakMap<object, TrainerTestHooks>();

export function installTestHooks(trainer: object, hooks: TrainerTestHooks): void {
  registry.set(trainer, hooks);
}

export function testHooksOf(trainer: object): TrainerTestHooks | undefined {
  return registry.get(trainer);
}
