// defines: the privacy history a Model object carries in this process (issue 11.6). A model whose
// weights took updates from released values is no longer the "initial" model of anything: a new
// DPZOTrainer (or a new run directory) on it would record the trained weights as its start and
// begin ε at zero, forgetting what the first run spent. The trainer that made the releases owns
// the model's history; another trainer is refused.
import { DpzoError } from '../errors.js';
import type { Model } from '../model/types.js';

interface History {
  /** The trainer whose releases the weights carry. */
  owner: object;
  releases: number;
  /** Where those releases are recorded, for the message. */
  where: string;
}

const histories = new WeakMap<Model, History>();
/** The trainer whose train() is running on each model: its releases are recorded only when it ends. */
const training = new WeakMap<Model, object>();

/**
 * Throws unless `trainer` may train `model`: the model carries no releases, or only `trainer`'s, and no other
 * trainer is training it now (two at once would mix their updates in one θ, each ledger counting only its own).
 * Until {@link releaseModel}, `model` is `trainer`'s.
 */
export function claimModel(model: Model, trainer: object): void {
  const busy = training.get(model);
  if (busy !== undefined && busy !== trainer) {
    throw new DpzoError(
      'ERR_TRAIN_BUSY',
      "another trainer is training this model now: its updates and this one's would mix in the same weights, each ledger counting only its own; wait for it to end",
    );
  }
  const h = histories.get(model);
  if (h && h.owner !== trainer && h.releases > 0) {
    throw new DpzoError(
      'ERR_TRAIN_OPTION',
      `this model already took ${h.releases} private update(s) in this process (recorded in ${h.where}); ` +
        'its privacy loss would be forgotten by a new run: continue with the same trainer, --resume that run, or load the model afresh',
    );
  }
  training.set(model, trainer);
}

/** Ends `trainer`'s claim on `model` (its train() returned or threw). */
export function releaseModel(model: Model, trainer: object): void {
  if (training.get(model) === trainer) training.delete(model);
}

/** Records that `trainer` applied a release to `model` (its ledger now holds `releases`). */
export function recordRelease(model: Model, trainer: object, releases: number, where: string): void {
  histories.set(model, { owner: trainer, releases, where });
}
