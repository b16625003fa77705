// defines: TaskSpec (lm | classification | tokens), Example, Dataset and
// buildDataset, which turns rows into packed-batch examples in Hugging Face
// conventions (labels = -100 where a position is not a target).
import { DataError, argumentError, checkString } from './errors.js';
import type { Records, Row } from './read.js';
import type { TextTokenizer } from './tokenizer.js';

/** Label of a position that is not a target (Hugging Face's -100): no loss is computed there. */
export const IGNORE = -100;
/** Default classification prompt: the text, then " It was"; the label word follows. */
export const DEFAULT_TEMPLATE = '{sentence} It was';
/** Default label words of classification: label 0 → " terrible", label 1 → " great" (SST-2 style). */
export const DEFAULT_LABEL_WORDS = [' terrible', ' great'];

/** Rows of an `lm` task: `'text'` (the whole text is trained on) or `'prompt-completion'` (only the completion's tokens are targets). */
export type LmFormat = 'text' | 'prompt-completion';

/**
 * Language modelling: loss on every token of a text field, or, for prompt/completion rows, on the completion only (then evaluation also generates and scores
 * exact match and F1).
 */
export interface LmTask {
  /** Task kind. */
  kind: 'lm';
  /** Row format; without it, the fields given decide, else every row must have the same shape. */
  format?: LmFormat;
  /** Field with the whole text (loss on every token), unless prompt/completion fields are present. */
  textField?: string;
  /** Field with the prompt (no loss on it); default `prompt`. */
  promptField?: string;
  /** Field with the completion (the targets); default `completion`. */
  completionField?: string;
}
/**
 * Classification as next-token prediction (MeZO's prompt-based setup): the template with the text, then the label word; the loss and accuracy are read over
 * the label words' first tokens only.
 */
export interface ClassificationTask {
  /** Task kind. */
  kind: 'classification';
  /** Field with the text; default `sentence`. */
  textField?: string;
  /** Field with the label (an integer index into an array of label words, or a key of a label-word map); default `label`. */
  labelField?: string;
  /** Contains `{sentence}` (the text field); default `{sentence} It was`. */
  template?: string;
  /** Label word per class: an array indexed by integer label, or a map label -> word. */
  labelWords?: string[] | Record<string, string>;
}
/** Pre-tokenized rows: token ids (and optionally labels, -100 for non-targets) given directly; no tokenizer needed. */
export interface TokensTask {
  /** Task kind. */
  kind: 'tokens';
  /** Field with the token ids; default `input_ids`. */
  inputField?: string;
  /** Field with the labels, same length as the ids; default `labels` (absent: every position from 1 is a target). */
  labelsField?: string;
}
/** What a dataset's rows are and how they become examples. */
export type TaskSpec = LmTask | ClassificationTask | TokensTask;
/** The kind of a {@link TaskSpec}. */
export type TaskKind = TaskSpec['kind'];

/** One training or evaluation example, in Hugging Face conventions. */
export interface Example {
  /** Token ids of the whole sequence (at most the dataset's maxLength). */
  inputIds: Int32Array;
  /** Same length as inputIds; absent = every position from 1 is a target. */
  labels?: Int32Array;
  /** classification: index into the dataset's candidates. */
  classIndex?: number;
  /** prompt/completion: the prompt ids and the reference completion text, for generation. */
  promptIds?: Int32Array;
  /** prompt/completion: the reference completion text, for exact match and F1. */
  reference?: string;
}

/** Examples built for a task ({@link loadDataset}, {@link buildDataset}): what the trainer samples from and evaluate() scores. */
export interface Dataset {
  /** The task the rows were built for. */
  task: TaskSpec;
  /** The file the rows came from ('' for a dataset built in memory): a training file's SHA-256 keys its dataset ledger. */
  source: string;
  /** SHA-256 (hex) of the file's bytes as they were read (absent for a dataset built in memory): the key of its dataset ledger. */
  sha256?: string;
  /** The examples, in file order. */
  examples: Example[];
  /** classification: the first token of each label word, in class order. */
  candidates?: Int32Array;
  /** classification: the label keys in class order (array indices as strings, or the label-word map's keys). */
  labelNames?: string[];
  /** lm with prompt + completion: generation metrics apply. */
  generative: boolean;
  /** The longest sequence the dataset was built to hold (BuildOptions.maxLength): a public bound. */
  maxLength?: number;
}

/** Options of {@link buildDataset}. */
export interface BuildOptions {
  /** Longest sequence kept (tokens); longer inputs are cut (classification: from the start of the sentence). */
  maxLength: number;
  /** The model's vocabulary size: every token id must be below it. */
  vocabSize: number;
  /** Rows after the first `limit` are dropped. */
  limit?: number;
}

const TASK_KINDS: readonly string[] = ['lm', 'classification', 'tokens'];

/** buildDataset's arguments by type: records without rows, a task that is none or options that are none failed as bare TypeErrors. */
function checkBuildArguments(records: unknown, task: unknown, tokenizer: unknown, opts: unknown): void {
  const bad = (m: string) => argumentError('buildDataset', m);
  const r = records as Partial<Records> | null;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.rows) || typeof r.file !== 'string' || !Array.isArray(r.lines))
    throw bad('records must be { file, rows, lines } (readRecords)');
  const t = task as { kind?: unknown } | null;
  if (typeof t !== 'object' || t === null || !TASK_KINDS.includes(t.kind as string)) throw bad("task must be { kind: 'lm' | 'classification' | 'tokens', ... }");
  if (tokenizer !== null && (typeof tokenizer !== 'object' || typeof (tokenizer as Partial<TextTokenizer>).encode !== 'function'))
    throw bad('tokenizer must be a tokenizer (loadTokenizer) or null');
  const o = opts as Partial<BuildOptions> | null;
  if (typeof o !== 'object' || o === null) throw bad('options must be an object { maxLength, vocabSize }');
  for (const k of ['maxLength', 'vocabSize', 'limit'] as const) {
    const v = o[k];
    if ((k !== 'limit' || v !== undefined) && !(Number.isInteger(v) && v! > 0)) throw bad(`${k} must be a positive integer (got ${String(v)})`);
  }
}

/**
 * Turns records into a {@link Dataset} for the task (see {@link loadDataset}, which reads the file and picks the tokenizer).
 * @param tokenizer Required for lm and classification; null for tokens.
 * @throws {@link DataError} `ERR_DATA_EMPTY`, `ERR_NO_TOKENIZER`, `ERR_DATA_FIELD`, `ERR_DATA_LABEL`, `ERR_DATA_TEMPLATE`, `ERR_DATA_TOKENS`,
 * `ERR_DATA_FORMAT`, naming the file and line, never the row's text; {@link DpzoError} `ERR_ARGUMENT` for an argument of the wrong type.
 */
export function buildDataset(records: Records, task: TaskSpec, tokenizer: TextTokenizer | null, opts: BuildOptions): Dataset {
  checkBuildArguments(records, task, tokenizer, opts);
  const rows = opts.limit !== undefined ? records.rows.slice(0, opts.limit) : records.rows;
  if (rows.length === 0) throw new DataError('ERR_DATA_EMPTY', `${records.file}: no examples`);
  const where = (i: number) => `${records.file}:${records.lines[i] ?? i + 1}`;
  let ds: Dataset;
  if (task.kind === 'tokens') ds = buildTokens(rows, task, where, opts);
  else {
    if (!tokenizer) throw new DataError('ERR_NO_TOKENIZER', `the ${task.kind} task needs the model's tokenizer.json`);
    // one token leaves no position to predict a target from: a classification prompt was cut to nothing (and a completion
    // to none), every example had no target, and a run spent its budget on releases of nothing (accuracy 0, loss NaN)
    if (opts.maxLength < 2) {
      throw new DataError(
        'ERR_DATA_TOKENS',
        `maxLength ${opts.maxLength} (--max-length, at most the model's max_position_embeddings) leaves no room for a target: the ${task.kind} task needs at least 2 tokens`,
      );
    }
    ds = task.kind === 'classification' ? buildClassification(rows, task, tokenizer, where, opts) : buildLm(rows, task, tokenizer, where, opts);
  }
  ds.source = records.file;
  if (records.sha256 !== undefined) ds.sha256 = records.sha256;
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
    // the row's length is private: the message states the limit only
    if (inputIds.length > opts.maxLength) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${inF}' has more tokens than the maximum ${opts.maxLength}`);
    const ex: Example = { inputIds };
    if (labF in row && row[labF] !== null) {
      const labels = ids(row[labF], labF, where(i), opts.vocabSize, true);
      if (labels.length !== inputIds.length) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${labF}' and '${inF}' differ in length`);
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
    // the id is not quoted: it is a piece of the row's private text
    if (ids[k]! >= vocab) throw new DataError('ERR_DATA_TOKENS', `${where}: the tokenizer gives a token outside the model's vocabulary [0, ${vocab}) (tokenizer.json does not match the model)`);
  }
}

/**
 * How many special tokens the tokenizer puts before (BOS) and after (EOS) a text. A prompt keeps the
 * leading ones when it is cut (transformers truncates before adding them) and drops the trailing ones:
 * they end a sequence, and the label word or completion follows the prompt.
 */
function specialCounts(tok: TextTokenizer): { pre: number; post: number } {
  const plain = tok.encode('x', false);
  const full = tok.encode('x', true);
  for (let pre = 0; pre + plain.length <= full.length; pre++) {
    if (plain.every((t, k) => full[pre + k] === t)) return { pre, post: full.length - plain.length - pre };
  }
  return { pre: 0, post: 0 };
}

/** `text` with the tokenizer's special tokens, less the trailing ones (see {@link specialCounts}). */
function encodePrompt(tok: TextTokenizer, text: string, post: number): number[] {
  const ids = tok.encode(text, true);
  return post > 0 ? ids.slice(0, Math.max(0, ids.length - post)) : ids;
}

/** The label -> class index map and the label words in class order. */
function labelMap(words: string[] | Record<string, string>): { keys: string[]; words: string[] } {
  if (Array.isArray(words)) return { keys: words.map((_, i) => String(i)), words };
  const keys = Object.keys(words);
  return { keys, words: keys.map((k) => words[k]!) };
}

function applyTemplate(template: string, textField: string, sentence: string): string {
  // the template's placeholders only: one inside the text (private data) is not expanded
  return template
    .split('{sentence}')
    .map((part) => part.split(`{${textField}}`).join(sentence))
    .join(sentence);
}

/**
 * Checks that a classification template has the text's placeholder (`{sentence}` or `{<textField>}`).
 * @throws {@link DataError} `ERR_DATA_TEMPLATE`.
 */
export function validateTemplate(template: string, textField = 'sentence'): void {
  checkString('validateTemplate', 'template', template, true);
  checkString('validateTemplate', 'textField', textField, true);
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
  const { pre, post } = specialCounts(tok);
  // The label word's first token as it follows the prompt (tokenizers merge a leading space differently).
  const probe = encodePrompt(tok, applyTemplate(template, textF, 'x'), post);
  const candidates = new Int32Array(words.map((w) => {
    const joint = encodePrompt(tok, applyTemplate(template, textF, 'x') + w, post);
    let k = 0;
    while (k < probe.length && k < joint.length && probe[k] === joint[k]) k++;
    if (k >= joint.length) throw new DataError('ERR_DATA_LABEL', `label word '${w}' adds no token after the prompt`);
    return joint[k]!;
  }));
  // a word outside the tokenizer's vocabulary became its unknown token: the model was asked for '<unk>' in silence
  const unknown = tok.unkId != null ? words.findIndex((_, k) => candidates[k] === tok.unkId) : -1;
  if (unknown >= 0) throw new DataError('ERR_DATA_LABEL', `label word '${words[unknown]}' is not in the tokenizer's vocabulary (it starts with the unknown token)`);
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
    let prompt = encodePrompt(tok, applyTemplate(template, textF, sentence.trim()), post);
    if (prompt.length + 1 > opts.maxLength) {
      // keep the template's end (where the label is read); cut from the start, after the leading special tokens
      const head = Math.min(pre, opts.maxLength - 1);
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
  const { pre, post } = specialCounts(tok);
  const examples = rows.map((row, i): Example => {
    if (!paired) {
      let inputIds = tok.encode(text(row, textF, where(i)), true);
      if (inputIds.length > opts.maxLength) {
        // keep the trailing special tokens (EOS): transformers truncates before adding them
        const tail = Math.min(post, opts.maxLength);
        inputIds = inputIds.slice(0, opts.maxLength - tail).concat(inputIds.slice(inputIds.length - tail));
      }
      if (inputIds.length < 2) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: '${textF}' has fewer than 2 tokens`);
      inVocabulary(inputIds, opts.vocabSize, where(i));
      return { inputIds: Int32Array.from(inputIds) };
    }
    const reference = text(row, complF, where(i));
    const promptText = text(row, promptF, where(i));
    // the completion's tokens as they follow the prompt in one text (as in classification): a tokenizer that puts "▁" before a
    // text (Llama 2) gave a completion tokenized alone an extra one; tokens merged across the boundary count as the completion's
    const alone = encodePrompt(tok, promptText, post);
    const joint = encodePrompt(tok, promptText + reference, post);
    let k = 0;
    while (k < alone.length && k < joint.length && alone[k] === joint[k]) k++;
    let prompt = joint.slice(0, k);
    let completion = joint.slice(k);
    if (completion.length === 0) throw new DataError('ERR_DATA_TOKENS', `${where(i)}: empty '${complF}'`);
    if (completion.length > opts.maxLength - 1) completion = completion.slice(0, opts.maxLength - 1);
    if (prompt.length + completion.length > opts.maxLength) {
      // keep the leading special tokens (BOS): transformers truncates before adding them
      const head = Math.min(pre, opts.maxLength - completion.length);
      prompt = prompt.slice(0, head).concat(prompt.slice(prompt.length - (opts.maxLength - completion.length - head)));
    }
    const inputIds = Int32Array.from([...prompt, ...completion]);
    inVocabulary(inputIds, opts.vocabSize, where(i));
    const labels = new Int32Array(inputIds.length).fill(IGNORE);
    labels.set(completion, prompt.length);
    return { inputIds, labels, promptIds: Int32Array.from(prompt), reference };
  });
  return { task, source: '', examples, generative: paired };
}
