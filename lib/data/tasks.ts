// defines: TaskSpec (lm | classification | tokens), Example, Dataset and
// buildDataset, which turns rows into packed-batch examples in Hugging Face
// conventions (labels = -100 where a position is not a target).
import { DataError } from './errors.js';
import type { Records, Row } from './read.js';
import type { TextTokenizer } from './tokenizer.js';

export const IGNORE = -100;
export const DEFAULT_TEMPLATE = '{sentence} It was';
export const DEFAULT_LABEL_WORDS = [' terrible', ' great'];

export type LmFormat = 'text' | 'prompt-completion';

export interface LmTask {
  kind: 'lm';
  /** Row format; without it, the fields given decide, else every row must have the same shape. */
  format?: LmFormat;
  /** Field with the whole text (loss on every token), unless prompt/completion fields are present. */
  textField?: string;
  promptField?: string;
  completionField?: string;
}
export interface ClassificationTask {
  kind: 'classification';
  textField?: string;
  labelField?: string;
  /** Contains `{sentence}` (the text field); default `{sentence} It was`. */
  template?: string;
  /** Label word per class: an array indexed by integer label, or a map label -> word. */
  labelWords?: string[] | Record<string, string>;
}
export interface TokensTask {
  kind: 'tokens';
  inputField?: string;
  labelsField?: string;
}
export type TaskSpec = LmTask | ClassificationTask | TokensTask;
export type TaskKind = TaskSpec['kind'];

export interface Example {
  inputIds: Int32Array;
  /** Same length as inputIds; absent = every position from 1 is a target. */
  labels?: Int32Array;
  /** classification: index into the dataset's candidates. */
  classIndex?: number;
  /** prompt/completion: the prompt ids and the reference completion text, for generation. */
  promptIds?: Int32Array;
  reference?: string;
}

export interface Dataset {
  task: TaskSpec;
  source: string;
  examples: Example[];
  /** classification: the first token of each label word, in class order. */
  candidates?: Int32Array;
  labelNames?: string[];
  /** lm with prompt + completion: generation metrics apply. */
  generative: boolean;
  /** The longest sequence the dataset was built to hold (BuildOptions.maxLength): a public bound. */
  maxLength?: number;
}

export interface BuildOptions {
  /** Longest sequence kept (tokens); longer inputs are cut (classification: from the start of the sentence). */
  maxLength: number;
  vocabSize: number;
  /** Rows after the first `limit` are dropped. */
  limit?: number;
}

export function buildDataset(records: Records, task: TaskSpec, tokenizer: TextTokenizer | null, opts: BuildOptions): Dataset {
  const rows = opts.limit !== undefined ? records.rows.slice(0, opts.limit) : records.rows;
  if (rows.length === 0) throw new DataError('ERR_DATA_EMPTY', `${records.file}: no examples`);
  const where = (i: number) => `${records.file}:${records.lines[i] ?? i + 1}`;
  let ds: Dataset;
  if (task.kind === 'tokens') ds = buildTokens(rows, task, where, opts);
  else {
    if (!tokenizer) throw new DataError('ERR_NO_TOKENIZER', `the ${task.kind} task needs the model's tokenizer.json`);
    ds = task.kind === 'classification' ? buildClassification(rows, task, tokenizer, where, opts) : buildLm(rows, task, tokenizer, where, opts);
  }
  ds.source = records.file;
  ds.maxLength = opts.maxLength;
  return ds;
}

function field(row: Row, name: string, where: string): unknown {
  // the row's other keys are not listed: in JSON they can be private strings too
  if (!(name in row)) throw new DataError('ERR_DATA_FIELD', `${where}: missing field '${name}'`);
  return row[name];
}

function text(row: Row, name: string, where: string): string {
  const v = field(row, name, where);
  if (typeof v !== 'string') throw new DataError('ERR_DATA_FIELD', `${where}: field '${name}' must be a string`);
  return v;
}

function ids(v: unknown, name: string, where: string, vocab: number, allowIgnore: boolean): Int32Array {
  if (!Array.isArray(v)) throw new DataError('ERR_DATA_TOKENS', `${where}: '${name}' must be an array of token ids`);
  const out = new Int32Array(v.length);
  v.forEach((x, i) => {
    const ok = Number.isInteger(x) && ((x as number) >= 0 && (x as number) < vocab || (allowIgnore && x === IGNORE));
    // never quote the value: it is private data (a misplaced text field, or ids that encode text)
    if (!ok) throw new DataError('ERR_DATA_TOKENS', `${where}: ${name}[${i}] is not a token id in [0, ${vocab}) (${describe(x)})`);
    out[i] = x as number;
  });
  return out;
}

/** The kind of a rejected value, never the value itself. */
function describe(x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? 'an integer out of range' : 'not an integer';
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : `a ${typeof x}`;
}

function buildTokens(rows: Row[], task: TokensTask, where: (i: number) => string, opts: BuildOptions): Dataset {
  const inF = task.inputField ?? 'input_ids';
  const labF = task.labelsField ?? 'labels';
  const examples = rows.map((row, i) => {
    const inputIds = ids(field(row, inF, where(i)), inF, where(i), opts.vocabSize, false);
    if (inputIds.length < 2) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${inF}' needs at least 2 tokens`);
    if (inputIds.length > opts.maxLength) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: ${inputIds.length} tokens, more than the maximum ${opts.maxLength}`);
    const ex: Example = { inputIds };
    if (labF in row && row[labF] !== null) {
      const labels = ids(row[labF], labF, where(i), opts.vocabSize, true);
      if (labels.length !== inputIds.length) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${labF}' has ${labels.length} entries, '${inF}' ${inputIds.length}`);
      ex.labels = labels;
    }
    return ex;
  });
  return { task, source: '', examples, generative: false };
}

/**
 * Token ids from the tokenizer must fit the model: checked here, before any release, since the
 * native forward would otherwise fail mid-training at the step whose batch holds this row.
 */
function inVocabulary(ids: ArrayLike<number>, vocab: number, where: string): void {
  for (let k = 0; k < ids.length; k++) {
    if (ids[k]! >= vocab) throw new DataError('ERR_DATA_TOKENS', `${where}: the tokenizer gives token ${ids[k]}, outside the model's vocabulary [0, ${vocab}) (tokenizer.json does not match the model)`);
  }
}

/** The label -> class index map and the label words in class order. */
function labelMap(words: string[] | Record<string, string>): { keys: string[]; words: string[] } {
  if (Array.isArray(words)) return { keys: words.map((_, i) => String(i)), words };
  const keys = Object.keys(words);
  return { keys, words: keys.map((k) => words[k]!) };
}

function applyTemplate(template: string, textField: string, sentence: string): string {
  return template.split('{sentence}').join(sentence).split(`{${textField}}`).join(sentence);
}

export function validateTemplate(template: string, textField = 'sentence'): void {
  if (!template.includes('{sentence}') && !template.includes(`{${textField}}`)) {
    throw new DataError('ERR_DATA_TEMPLATE', `the template '${template}' has no {sentence} placeholder for the text`);
  }
}

function buildClassification(rows: Row[], task: ClassificationTask, tok: TextTokenizer, where: (i: number) => string, opts: BuildOptions): Dataset {
  const textF = task.textField ?? 'sentence';
  const labelF = task.labelField ?? 'label';
  const template = task.template ?? DEFAULT_TEMPLATE;
  validateTemplate(template, textF);
  const { keys, words } = labelMap(task.labelWords ?? DEFAULT_LABEL_WORDS);
  if (words.length < 2) throw new DataError('ERR_DATA_LABEL', 'classification needs at least 2 label words');
  // The label word's first token as it follows the prompt (tokenizers merge a leading space differently).
  const probe = tok.encode(applyTemplate(template, textF, 'x'), true);
  const candidates = new Int32Array(words.map((w) => {
    const joint = tok.encode(applyTemplate(template, textF, 'x') + w, true);
    let k = 0;
    while (k < probe.length && k < joint.length && probe[k] === joint[k]) k++;
    if (k >= joint.length) throw new DataError('ERR_DATA_LABEL', `label word '${w}' adds no token after the prompt`);
    return joint[k]!;
  }));
  const outside = words.findIndex((_, k) => candidates[k]! >= opts.vocabSize);
  if (outside >= 0) throw new DataError('ERR_DATA_LABEL', `label word '${words[outside]}' starts with token ${candidates[outside]}, outside the model's vocabulary [0, ${opts.vocabSize})`);
  if (new Set(candidates).size !== candidates.length) {
    throw new DataError('ERR_DATA_LABEL', `label words ${JSON.stringify(words)} do not start with distinct tokens`);
  }
  const examples = rows.map((row, i) => {
    const sentence = text(row, textF, where(i));
    const rawLabel = field(row, labelF, where(i));
    const key = typeof rawLabel === 'string' ? rawLabel.trim() : String(rawLabel);
    const classIndex = keys.indexOf(key);
    if (classIndex < 0) {
      // the value itself is private (and with a wrong --label-field it is the text): name the row only
      throw new DataError('ERR_DATA_LABEL', `${where(i)}: label is not one of the label words' labels (${keys.join(', ')})`);
    }
    let prompt = tok.encode(applyTemplate(template, textF, sentence.trim()), true);
    if (prompt.length + 1 > opts.maxLength) {
      // keep the template's end (where the label is read); cut from the start, after a leading special token
      const head = prompt.length > 0 && probe.length > 0 && prompt[0] === probe[0] ? 1 : 0;
      prompt = prompt.slice(0, head).concat(prompt.slice(prompt.length - (opts.maxLength - 1 - head)));
    }
    inVocabulary(prompt, opts.vocabSize, where(i));
    const inputIds = Int32Array.from([...prompt, candidates[classIndex]!]);
    const labels = new Int32Array(inputIds.length).fill(IGNORE);
    labels[labels.length - 1] = candidates[classIndex]!;
    return { inputIds, labels, classIndex };
  });
  return { task, source: '', examples, candidates, labelNames: keys, generative: false };
}

/**
 * Text or prompt/completion, decided by the task's fields, never by one row: if the format were read
 * off row 0, removing that row could change how every other row is built, and the sensitivity of a
 * release would be unbounded. Without an explicit field, every row must have the same shape; a file
 * that mixes them is refused before any release.
 */
export function lmFormat(rows: Row[], task: LmTask, promptF: string, complF: string, where: (i: number) => string): LmFormat {
  if (task.format) return task.format;
  if (task.textField !== undefined) return 'text';
  if (task.promptField !== undefined || task.completionField !== undefined) return 'prompt-completion';
  const shape = (row: Row): LmFormat => (promptF in row && complF in row ? 'prompt-completion' : 'text');
  const first = shape(rows[0]!);
  const other = rows.findIndex((row) => shape(row) !== first);
  if (other >= 0) {
    throw new DataError(
      'ERR_DATA_FORMAT',
      `${where(other)}: rows mix plain text and ${promptF}/${complF} pairs; give the format explicitly (--text-field or --prompt-field/--completion-field)`,
    );
  }
  return first;
}

function buildLm(rows: Row[], task: LmTask, tok: TextTokenizer, where: (i: number) => string, opts: BuildOptions): Dataset {
  const promptF = task.promptField ?? 'prompt';
  const complF = task.completionField ?? 'completion';
  const textF = task.textField ?? 'text';
  const paired = lmFormat(rows, task, promptF, complF, where) === 'prompt-completion';
  const examples = rows.map((row, i): Example => {
    if (!paired) {
      let inputIds = tok.encode(text(row, textF, where(i)), true);
      if (inputIds.length > opts.maxLength) inputIds = inputIds.slice(0, opts.maxLength);
      if (inputIds.length < 2) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${textF}' has fewer than 2 tokens`);
      inVocabulary(inputIds, opts.vocabSize, where(i));
      return { inputIds: Int32Array.from(inputIds) };
    }
    const reference = text(row, complF, where(i));
    let prompt = tok.encode(text(row, promptF, where(i)), true);
    let completion = tok.encode(reference, false);
    if (completion.length === 0) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: empty '${complF}'`);
    if (completion.length > opts.maxLength - 1) completion = completion.slice(0, opts.maxLength - 1);
    if (prompt.length + completion.length > opts.maxLength) prompt = prompt.slice(prompt.length - (opts.maxLength - completion.length));
    const inputIds = Int32Array.from([...prompt, ...completion]);
    inVocabulary(inputIds, opts.vocabSize, where(i));
    const labels = new Int32Array(inputIds.length).fill(IGNORE);
    labels.set(completion, prompt.length);
    return { inputIds, labels, promptIds: Int32Array.from(prompt), reference };
  });
  return { task, source: '', examples, generative: paired };
}
