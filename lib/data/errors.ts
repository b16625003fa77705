// defines: DataError, the error every data-layer failure throws (a code + a
// message naming the file, row or field), so the CLI can print one line.
import { DpzoError } from '../errors.js';

export type DataErrorCode =
  | 'ERR_DATA_FORMAT'
  | 'ERR_DATA_EMPTY'
  | 'ERR_DATA_FIELD'
  | 'ERR_DATA_LABEL'
  | 'ERR_DATA_TEMPLATE'
  | 'ERR_NO_TOKENIZER'
  | 'ERR_DATA_TOKENS';

export class DataError extends DpzoError {
  declare readonly code: DataErrorCode;
  constructor(code: DataErrorCode, message: string) {
    super(code, message);
    this.name = 'DataError';
  }
}
