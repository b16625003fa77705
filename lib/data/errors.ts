// defines: DataError, the error every data-layer failure throws (a code + a
// message naming the file, row or field), so the CLI can print one line; and
// argumentError/checkString, the ERR_ARGUMENT of an exported data function called with an argument of the wrong type.
import { type DataErrorCode, DpzoError } from '../errors.js';

export type { DataErrorCode };

/**
 * An argument of an exported data function that is not of its type: a number for a path failed deep in node:fs with a bare
 * TypeError (ERR_INVALID_ARG_TYPE), which names no function and is no DpzoError.
 */
export function argumentError(fn: string, message: string): DpzoError {
  return new DpzoError('ERR_ARGUMENT', `${fn}: ${message}`);
}

/** Throws ERR_ARGUMENT unless `value` is a string (non-empty unless `allowEmpty`). */
export function checkString(fn: string, name: string, value: unknown, allowEmpty = false): asserts value is string {
  if (typeof value !== 'string') throw argumentError(fn, `${name} must be a string (got ${value === null ? 'null' : typeof value})`);
  if (!allowEmpty && value === '') throw argumentError(fn, `${name} is an empty string`);
}

/** The error every data-layer failure throws: a {@link DataErrorCode} and a message naming the file, row (line) or field, never the private text of a row. */
export class DataError extends DpzoError {
  /** The data-layer code (`ERR_DATA_FORMAT`, `ERR_DATA_FIELD`, …). */
  declare readonly code: DataErrorCode;
  /**
   * A data-layer error.
   *
   * @param code The error code.
   * @param message One line naming the file, row or field and the reason.
   */
  constructor(code: DataErrorCode, message: string) {
    super(code, message);
    this.name = 'DataError';
  }
}
