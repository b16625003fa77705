// defines: the public API of dpzo's privacy accounting (re-exports)

export { PrivacyError, PrivacyBudgetExceededError } from './errors.js';
export type { Mechanism, GaussianMechanism, LaplaceMechanism, HistoryEntry } from './mechanism.js';
export { checkMechanism, checkNoiseMultiplier, checkLaplaceScale, laplacePureEpsilon } from './mechanism.js';
export { OPACUS_ORDERS, DP_ACCOUNTING_ORDERS, TF_PRIVACY_ORDERS } from './orders.js';
export { rdpSubsampledGaussian, computeRdpGaussian, epsilonFromRdp, deltaFromRdp, type RdpConversion } from './rdp.js';
export { rdpLaplace, rdpSubsampledLaplace } from './rdp-laplace.js';
export { pureEpsilon, laplacePureDp } from './pure.js';
export { gaussianPair, laplacePair, hockeyStick, type LossPair, type Adjacency } from './pld-pairs.js';
export { discretizePair, type DiscretePld, type Discretization } from './pld-discretize.js';
export { composePlds } from './pld-compose.js';
export { deltaForEpsilon, epsilonForDelta } from './pld-query.js';
export { composeHistory, pldEpsilon, pldDelta, mechanismPairs, type PldOptions, type ComposedPld } from './pld.js';
export {
  RdpAccountant,
  PldAccountant,
  createAccountant,
  type Accountant,
  type AccountantKind,
  type AccountantName,
  type EpsilonResult,
  type DeltaResult,
  type PldBound,
} from './accountant.js';
export {
  calibrateNoise,
  maxSteps,
  type CalibrateOptions,
  type CalibrateResult,
  type CalibrationAccountant,
  type CalibrationAccountantName,
  type MaxStepsOptions,
} from './calibrate.js';
export { secureUniform, fillGaussian, fillLaplace, gaussianNoise, laplaceNoise } from './secure-noise.js';
export { PrivacyLedger, type LedgerOpenOptions } from './ledger.js';
export { liveLedgerWriter } from './ledger-store.js';
export { releaseMechanism, releaseOf, type ReleaseInput, type Release, type LedgerEntry, type Budget } from './ledger-format.js';
export { planNoise, type NoiseRequest, type NoisePlan } from './plan.js';
export { accountHistory, epsilonOfSteps, rdpTracker, spentReport, type Spent, type SpentResult, type AccountResult, type AccountantChoice } from './spent.js';
export {
  DatasetLedger,
  dpzoHome,
  datasetLedgerFile,
  datasetLedgerHome,
  keyedDatasetLedgerFile,
  unmarkedReleases,
  type DatasetLedgerOptions,
  type UnmarkedReleases,
} from './dataset-ledger.js';
export { datasetKey } from './dataset-key.js';
