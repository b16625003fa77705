// defines: TextTokenizer and loadTokenizer — the model directory's
// tokenizer.json (+ tokenizer_config.json) through @huggingface/tokenizers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Tokenizer } from '@huggingface/tokenizers';

import { DataError, checkString } from './errors.js';
import { rustSemantics } from './tokenizer-unicode.js';

/** A model's tokenizer (tokenizer.json through @huggingface/tokenizers), as the data layer uses it. */
export interface TextTokenizer {
  /** Token ids of `text`; `special` adds what the tokenizer's post-processor adds (e.g. BOS), or what tokenizer_config.json's add_bos_token / add_eos_token say when set. */
  encode(text: string, special: boolean): number[];
  /** Text of `ids`, special tokens skipped. */
  decode(ids: ArrayLike<number>): string;
  /** Id of tokenizer_config.json's `eos_token`, or null when it names none. */
  readonly eosId: number | null;
  /** Id of the model's unknown token (tokenizer.json's model.unk_token or unk_id), what a word outside the vocabulary becomes; null or absent when it has none. */
  readonly unkId?: number | null;
}

/** Whether `modelDir` has a tokenizer.json. */
export function hasTokenizer(modelDir: string): boolean {
  checkString('hasTokenizer', 'modelDir', modelDir);
  return existsSync(join(modelDir, 'tokenizer.json'));
}

/** Tokenizer classes (tokenizer_config.json's tokenizer_class, without "Fast") whose constructor rebuilds the post-processor, and their default special tokens. */
const REBUILDS_POST_PROCESSOR = new Map<string, { bos: string; eos: string }>([
  ['LlamaTokenizer', { bos: '<s>', eos: '</s>' }],
  ['CodeLlamaTokenizer', { bos: '<s>', eos: '</s>' }],
  ['GemmaTokenizer', { bos: '<bos>', eos: '<eos>' }],
]);

/**
 * Loads `modelDir`/tokenizer.json (and tokenizer_config.json when present).
 * @param why Names what needs the tokenizer, in the error message.
 * @throws {@link DataError} `ERR_NO_TOKENIZER`: the file is missing, not JSON, or a tokenizer @huggingface/tokenizers does not support.
 */
export function loadTokenizer(modelDir: string, why = 'a text task'): TextTokenizer {
  checkString('loadTokenizer', 'modelDir', modelDir);
  checkString('loadTokenizer', 'why', why);
  const path = join(modelDir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new DataError('ERR_NO_TOKENIZER', `${modelDir} has no tokenizer.json: ${why} needs one (use --task tokens with pre-tokenized input_ids instead)`);
  }
  let json: Record<string, unknown>;
  let config: Record<string, unknown> = {};
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError('ERR_NO_TOKENIZER', `${path}: cannot parse (${(e as Error).message})`);
  }
  // its own error: a broken tokenizer_config.json was reported as tokenizer.json, a null one as a bare TypeError
  const cfgPath = join(modelDir, 'tokenizer_config.json');
  if (existsSync(cfgPath)) {
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(cfgPath, 'utf8'));
    } catch (e) {
      throw new DataError('ERR_NO_TOKENIZER', `${cfgPath}: cannot parse (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError('ERR_NO_TOKENIZER', `${cfgPath}: the top level must be a JSON object`);
    config = v as Record<string, unknown>;
  }
  let tok: Tokenizer;
  try {
    // the JS library splits and normalizes some non-ASCII text otherwise than the Rust one transformers runs
    tok = new Tokenizer(rustSemantics(json), config);
  } catch (e) {
    throw new DataError('ERR_NO_TOKENIZER', `${path}: unsupported tokenizer (${(e as Error).message})`);
  }
  const idOf = (t: unknown) => {
    const name = typeof t === 'string' ? t : (t as { content?: string } | null | undefined)?.content;
    return name !== undefined ? (tok.token_to_id(name) ?? null) : null;
  };
  // Llama's, Code Llama's and Gemma's tokenizer classes rebuild the post-processor in their constructor, from add_bos_token
  // (default true) and add_eos_token (default false), whatever tokenizer.json holds, with their own default BOS/EOS names:
  // a Llama tokenizer.json without a BOS template got no BOS here and one in transformers
  const rebuilt = REBUILDS_POST_PROCESSOR.get(String(config.tokenizer_class).replace(/Fast$/, ''));
  const eosId = idOf(config.eos_token ?? rebuilt?.eos);
  const model = json.model as { unk_token?: unknown; unk_id?: unknown } | null | undefined;
  const unkId = typeof model?.unk_id === 'number' && Number.isInteger(model.unk_id) ? model.unk_id : idOf(model?.unk_token);
  const bosId = idOf(config.bos_token ?? rebuilt?.bos);
  // transformers replaces the post-processor with [BOS] $A [EOS] when tokenizer_config.json sets add_bos_token or add_eos_token;
  // a flag not set keeps what tokenizer.json's post-processor does (unless the class rebuilds it)
  let encode = (text: string, special: boolean) => tok.encode(text, { add_special_tokens: special }).ids;
  if (rebuilt || typeof config.add_bos_token === 'boolean' || typeof config.add_eos_token === 'boolean') {
    const probe = encode('', true);
    const hadBos = probe.length > 0 && probe[0] === bosId;
    const hadEos = probe.length > (hadBos ? 1 : 0) && probe[probe.length - 1] === eosId;
    const bos = (config.add_bos_token ?? (rebuilt ? true : hadBos)) === true ? bosId : null;
    const eos = (config.add_eos_token ?? (rebuilt ? false : hadEos)) === true ? eosId : null;
    const plain = encode;
    encode = (text, special) => {
      const ids = plain(text, false);
      return special ? [...(bos !== null ? [bos] : []), ...ids, ...(eos !== null ? [eos] : [])] : ids;
    };
  }
  return {
    encode,
    // @huggingface/tokenizers throws a plain Error on no ids (a generation of 0 tokens)
    decode: (ids) => (ids.length === 0 ? '' : tok.decode(Array.from(ids), { skip_special_tokens: true })),
    eosId,
    unkId,
  };
}
