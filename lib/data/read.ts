// defines: readRecords — rows of a JSONL / JSON / CSV / TSV file as objects
// keyed by field name (CSV and TSV take their field names from a header line).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';

import { DataError, argumentError, checkString } from './errors.js';

/** One record of a data file: its fields by name (JSON values; CSV/TSV fields are strings). */
export type Row = Record<string, unknown>;

/** The rows of a data file, as {@link readRecords} returns them. */
export interface Records {
  /** The file they were read from. */
  file: string;
  /** The records, in file order. */
  rows: Row[];
  /** 1-based line of each row in the file (a JSON array element's: the line where it starts), for error messages. */
  lines: number[];
  /** SHA-256 (hex) of the bytes the rows were read from (readRecords): it keys the training file's dataset ledger. */
  sha256?: string;
}

/** A data file's format: JSON lines, JSON (an array of objects, or JSON lines as datasets writes a .json file), or CSV/TSV with a header line. */
export type FileFormat = 'jsonl' | 'json' | 'csv' | 'tsv';

/**
 * The longest record (a JSONL/TSV line, a CSV record, a JSON array element) in characters: 1 Mi.
 * An example is at most a few thousand tokens; a 10 MB line used to cost 42 s and 2.4 GB of
 * tokenization before any length check could see it.
 */
export const MAX_RECORD_CHARS = 1 << 20;

/** The record's length is private: the message names its line and the limit only. */
function tooLong(file: string, line: number): DataError {
  return new DataError(
    'ERR_DATA_FORMAT',
    `${file}:${line}: a record exceeds the limit of ${MAX_RECORD_CHARS} characters (one example per line; is the file's line ending or delimiter right?)`,
  );
}

/**
 * The format a file name implies: .jsonl/.ndjson, .json, .csv, .tsv/.tab (case-insensitive).
 * @throws {@link DataError} `ERR_DATA_FORMAT` for any other extension.
 */
export function formatOf(file: string): FileFormat {
  checkString('formatOf', 'file', file);
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  throw new DataError('ERR_DATA_FORMAT', `${file}: unknown data format '${ext}' (use .jsonl, .json, .csv or .tsv)`);
}

const FORMATS: readonly FileFormat[] = ['jsonl', 'json', 'csv', 'tsv'];

/** The largest data file read (bytes): a file is read whole, and V8 strings stop a little above this. */
export const MAX_DATA_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Reads a whole data file into rows (a leading BOM is dropped). Files over 512 MiB and records over 1 Mi characters are refused before they are parsed.
 * @param format Default: from the extension ({@link formatOf}).
 * @throws {@link DataError} `ERR_DATA_FORMAT` (unreadable, too large, not UTF-8, malformed: the line is named, not its text), `ERR_DATA_EMPTY` (no rows).
 */
export function readRecords(file: string, format?: FileFormat): Records {
  checkString('readRecords', 'file', file);
  // a format that is none was read as tab-separated (a .jsonl file came back as "no examples")
  if (format !== undefined && !FORMATS.includes(format)) throw argumentError('readRecords', `format must be one of ${FORMATS.join(', ')} (got ${String(format)})`);
  format ??= formatOf(file);
  let text: string;
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new DataError('ERR_DATA_FORMAT', `${file}: cannot read (${(e as Error).message})`);
  }
  // refuse before reading: a 3 GB file used to take 50 s to fail inside the string conversion
  if (size > MAX_DATA_FILE_BYTES) throw new DataError('ERR_DATA_FORMAT', `${file}: ${size} bytes is more than the ${MAX_DATA_FILE_BYTES} a data file may have`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new DataError('ERR_DATA_FORMAT', `${file}: cannot read (${(e as Error).message})`);
  }
  text = decodeUtf8(file, bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // classic Mac line endings: a TSV was one header line ("no examples", its rows turned into field names), JSONL one bad line
  if (format !== 'json' && text.includes('\r') && !text.includes('\n'))
    throw new DataError('ERR_DATA_FORMAT', `${file}: lines end in CR only (old Mac line endings): save the file with LF or CRLF line endings`);
  // a .json file that is not an array is JSON Lines, as datasets writes it (Dataset.to_json) and load_dataset reads it
  const lines = format === 'jsonl' || (format === 'json' && !text.trimStart().startsWith('['));
  const out = lines ? parseJsonl(file, text) : format === 'json' ? parseJson(file, text) : parseDelimited(file, text, format === 'csv' ? ',' : '\t');
  if (out.rows.length === 0) throw new DataError('ERR_DATA_EMPTY', `${file}: no examples`);
  // the bytes read, not the file later: a file replaced or deleted after loading still keys the ledger of what was trained on
  return { ...out, sha256: createHash('sha256').update(bytes).digest('hex') };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The file's text, refusing bytes that are not UTF-8: a lenient decode turns a Latin-1 or Windows-1252 file's
 * accented letters into U+FFFD silently, and the model would train on the replacement characters. The error
 * names the line of the first bad byte, not its text (the data is private).
 */
function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const nl = bytes.indexOf(0x0a, start);
      const end = nl < 0 ? bytes.length : nl;
      try {
        strictUtf8.decode(bytes.subarray(start, end));
      } catch {
        throw new DataError('ERR_DATA_FORMAT', `${file}:${line}: not valid UTF-8 (save the file as UTF-8)`);
      }
      if (nl < 0) throw new DataError('ERR_DATA_FORMAT', `${file}: not valid UTF-8 (save the file as UTF-8)`);
      start = nl + 1;
    }
  }
}

/** Where JSON.parse failed, without V8's excerpt of the text: the record is private data and errors reach logs. */
export function jsonPosition(e: unknown): string {
  const m = /at position (\d+)/.exec((e as Error).message);
  return m ? ` (at character ${m[1]})` : '';
}

function parseJsonl(file: string, text: string): Records {
  const rows: Row[] = [];
  const lines: number[] = [];
  const parts = text.split('\n');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.length > MAX_RECORD_CHARS) throw tooLong(file, i + 1);
    const line = parts[i]!.trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new DataError('ERR_DATA_FORMAT', `${file}:${i + 1}: invalid JSON${jsonPosition(e)}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError('ERR_DATA_FORMAT', `${file}:${i + 1}: each line must be a JSON object`);
    rows.push(v as Row);
    lines.push(i + 1);
  }
  return { file, rows, lines };
}

function parseJson(file: string, text: string): Records {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError('ERR_DATA_FORMAT', `${file}: invalid JSON${jsonPosition(e)}`);
  }
  if (!Array.isArray(v)) throw new DataError('ERR_DATA_FORMAT', `${file}: a .json dataset must be an array of objects`);
  v.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new DataError('ERR_DATA_FORMAT', `${file}: element ${i} is not an object`);
    if (JSON.stringify(r).length > MAX_RECORD_CHARS)
      throw new DataError('ERR_DATA_FORMAT', `${file}: element ${i} is over the limit of ${MAX_RECORD_CHARS} characters per example`);
  });
  return { file, rows: v as Row[], lines: elementLines(text, v.length) };
}

/**
 * The 1-based line where each element of a JSON array (text that parsed) starts: the element's
 * index is not its line in a pretty-printed file, and errors name the line.
 */
function elementLines(text: string, count: number): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = 0; i < text.length && lines.length < count; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectElement) {
      lines.push(line);
      expectElement = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectElement = true;
  }
  return lines;
}

// RFC 4180 for CSV (quotes, doubled quotes, newlines inside quotes); TSV as GLUE
// writes it: no quoting, one row a line.
function parseDelimited(file: string, text: string, sep: string): Records {
  const table: { cells: string[]; line: number }[] = sep === '\t' ? splitTsv(file, text) : splitCsv(file, text);
  if (table.length === 0) return { file, rows: [], lines: [] };
  // an empty name is pandas' 'Unnamed: <j>': DataFrame.to_csv writes its index column with an empty header, and the
  // file was refused ("the header has an empty field name") where pandas and datasets read it
  const header = table[0]!.cells.map((h, j) => h.trim() || `Unnamed: ${j}`);
  // a repeated name kept only its last column; the columns are named by position, not by their (file's) text
  const first = header.findIndex((h, j) => header.indexOf(h) !== j);
  if (first >= 0)
    throw new DataError('ERR_DATA_FORMAT', `${file}:1: the header names columns ${header.indexOf(header[first]!) + 1} and ${first + 1} the same`);
  const rows: Row[] = [];
  const lines: number[] = [];
  for (let r = 1; r < table.length; r++) {
    const { cells, line } = table[r]!;
    if (cells.length === 1 && cells[0]!.trim() === '') continue;
    if (cells.length !== header.length) {
      // not the row's count of fields: it follows from its private text (the delimiters in it)
      throw new DataError('ERR_DATA_FORMAT', `${file}:${line}: the number of fields is not the header's ${header.length}`);
    }
    const row: Row = {};
    header.forEach((h, j) => (row[h] = cells[j]));
    rows.push(row);
    lines.push(line);
  }
  return { file, rows, lines };
}

function splitTsv(file: string, text: string): { cells: string[]; line: number }[] {
  const out: { cells: string[]; line: number }[] = [];
  const parts = text.split('\n');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.length > MAX_RECORD_CHARS) throw tooLong(file, i + 1);
    const line = parts[i]!.replace(/\r$/, '');
    if (line === '') continue;
    out.push({ cells: line.split('\t'), line: i + 1 });
  }
  return out;
}

function splitCsv(file: string, text: string): { cells: string[]; line: number }[] {
  const out: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let rowStart = 0;
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === '')) out.push({ cells, line: rowLine });
    cells = [];
    cell = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        // RFC 4180: a closing quote ends the field; text after it means an unbalanced quote, which would
        // otherwise join the rows it spans into one example without a word
        const next = text[i + 1];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
          throw new DataError('ERR_DATA_FORMAT', `${file}:${line}: text after the closing quote of a field (a quote inside a quoted field must be doubled)`);
      } else {
        if (c === '\n') line++;
        cell += c;
      }
      i++;
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n') {
      endRow();
      line++;
      rowLine = line;
      rowStart = i + 1;
    } else if (!(c === '\r' && (text[i + 1] === '\n' || i + 1 === text.length))) cell += c; // CRLF's CR, not a lone one: kept, as the TSV reader keeps it
    i++;
    if (i - rowStart > MAX_RECORD_CHARS) throw tooLong(file, rowLine);
  }
  if (quoted) throw new DataError('ERR_DATA_FORMAT', `${file}:${rowLine}: unterminated quoted field`);
  if (cell !== '' || cells.length > 0) endRow();
  return out;
}
