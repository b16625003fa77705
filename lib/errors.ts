// defines: DpzoError, the one error type of the TypeScript layer (a message plus
// a stable `code`, the convention of the native core's errors), and ErrorCode,
// every code any layer throws: the native core's (through the addon), the data
// layer's, the privacy layer's and the trainer's. Subclasses (DataError,
// PrivacyError, PrivacyBudgetExceededError) narrow it; the CLI prints any of
// them as one line `dpzo: <message> [<code>]`.

/**
 * Codes of the native core (every "ERR_…" string under native/, checked by test/unit/errors.test.ts),
 * raised through the addon, plus ERR_ADDON (the addon could not be loaded).
 */
export const NATIVE_ERROR_CODES = [
  'ERR_ADDON',
  'ERR_ARGUMENT',
  'ERR_BATCH',
  'ERR_BUSY',
  'ERR_CANCELLED',
  'ERR_CONFIG',
  'ERR_CONFIG_MISSING',
  'ERR_DEVICE',
  'ERR_DISPOSED',
  'ERR_DTYPE',
  'ERR_INTERNAL',
  'ERR_IO',
  'ERR_MODEL_TYPE',
  'ERR_NON_FINITE',
  'ERR_OUT_OF_MEMORY',
  'ERR_SAFETENSORS_HEADER',
  'ERR_SAFETENSORS_OFFSETS',
  'ERR_SAFETENSORS_TRUNCATED',
  'ERR_SEED',
  'ERR_SEQUENCE_LENGTH',
  'ERR_SHARD_MISSING',
  'ERR_TENSOR_MISSING',
  'ERR_TENSOR_SHAPE',
  'ERR_TENSOR_UNKNOWN',
  'ERR_TOKEN_RANGE',
] as const;

/** A code of the native core (see `NATIVE_ERROR_CODES`): bad arguments, model files, devices, cancellation, memory. */
export type NativeErrorCode = (typeof NATIVE_ERROR_CODES)[number];

/** Codes of the data layer (lib/data): the file, row or field is named in the message. */
export type DataErrorCode =
  'ERR_DATA' | 'ERR_DATA_FORMAT' | 'ERR_DATA_EMPTY' | 'ERR_DATA_FIELD' | 'ERR_DATA_LABEL' | 'ERR_DATA_TEMPLATE' | 'ERR_NO_TOKENIZER' | 'ERR_DATA_TOKENS';

/** Codes of the privacy layer (lib/privacy): accounting arguments, the budget, the ledger. */
export type PrivacyErrorCode =
  | 'ERR_ARGUMENT'
  | 'ERR_INTERNAL'
  | 'ERR_IO'
  | 'ERR_BUDGET_EXCEEDED'
  | 'ERR_BUDGET_IMPOSSIBLE'
  | 'ERR_LEDGER_CORRUPT'
  | 'ERR_LEDGER_LOCKED'
  | 'ERR_LEDGER_TORN'
  /** A ledger's releases disagree with the plan in its run.json (σ, q, C, mechanism, budget, step numbers). */
  | 'ERR_LEDGER_MISMATCH'
  /** A run directory holds fewer (or other) releases than its dataset ledger recorded: it was rolled back. */
  | 'ERR_LEDGER_ROLLBACK';

/** Codes of the trainer and its run directory (lib/dpzo). */
export type TrainErrorCode =
  | 'ERR_TRAIN_OPTION'
  | 'ERR_TRAIN_BUSY'
  | 'ERR_TRAIN_HOOK'
  | 'ERR_RUN_EXISTS'
  | 'ERR_RUN_MISSING'
  | 'ERR_RUN_MISMATCH'
  | 'ERR_RUN_CORRUPT'
  | 'ERR_RUN_CLOSED'
  | 'ERR_EXPORT_EXISTS';

/** Every code any dpzo error carries (`DpzoError.code`): stable strings to branch on. */
export type ErrorCode = NativeErrorCode | DataErrorCode | PrivacyErrorCode | TrainErrorCode;

/**
 * The one error type of dpzo: a message plus a stable {@link ErrorCode}. Every error of the library (the native core's through the addon, the data layer's
 * {@link DataError}, the privacy layer's {@link PrivacyError}, the trainer's) is a DpzoError or a subclass, so a caller can branch on `code`. Messages name
 * the file, field or parameter, never private data.
 *
 * @example
 * ```ts
 * import { DpzoError, loadModel } from 'dpzo';
 *
 * try {
 *   await loadModel('no/such/dir');
 * } catch (e) {
 *   if (e instanceof DpzoError && e.code === 'ERR_CONFIG_MISSING') console.error('not a model directory');
 *   else throw e;
 * }
 * ```
 */
export class DpzoError extends Error {
  /** The stable code (e.g. `ERR_TRAIN_OPTION`, `ERR_BUDGET_EXCEEDED`). */
  readonly code: ErrorCode;
  /**
   * The option the message begins with, by its library name (`batchSize` in "batchSize (1000) exceeds …"), where the error refuses one
   * option's value (`ERR_TRAIN_OPTION` from the trainer's plan): a caller that names the options otherwise can say it in its own terms
   * (the CLI names the flag, `--batch-size`, or the config file that set it).
   */
  declare readonly field?: string;
  /** Other options the message names, each as a whole word ("must be given with sampleRate"), for the same renaming as `field`. */
  declare readonly mentions?: readonly string[];
  /**
   * An error with a stable code.
   *
   * @param code The error code.
   * @param message What went wrong, in one line.
   * @param options `cause`: the underlying error; `field` and `mentions`: the options the message names (see {@link DpzoError.field}).
   */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string; mentions?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DpzoError';
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
    if (options?.mentions !== undefined) this.mentions = options.mentions;
  }
}

export function isCoded(e: unknown): e is Error & { code: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}
