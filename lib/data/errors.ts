// defines: DataError, the error every data-layer failure throws (a code + a
// message naming the file, row or field), so the CLI can print one line.
import { type DataErrorCode, DpzoError } from '../errors.js';

export type { DataErrorCode };

export class DataError extends DpzoError {
  declare readonly code: DataErrorCode;
  constructor(code: DataErrorCode, message: string) {
    super(code, message);
    this.name = 'DataError';
  }
}
