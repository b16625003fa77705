// defines: DataError, the error every data-layer failure throws (a code + a
// message naming the file, row or field), so the CLI can print one line.
import { type DataErrorCode, DpzoError } from '../errors.js';

export type { DataErrorCode };

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
