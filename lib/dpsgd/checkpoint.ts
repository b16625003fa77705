// defines: the weights checkpoint of a DP-SGD run directory (checkpoint.bin) — its
// trajectory is not seeds, so the run stores what the steps made: the trainable
// parameters after `step` updates and the optimizer's state (Adam's m, v and t).
// Layout: 'DPZOCKPT', u32 LE header length, the header (JSON), the float32 LE
// arrays it lists, then the SHA-256 of everything before it, so a torn or altered
// file is detected (ERR_RUN_CORRUPT) instead of loaded. Written whole or not at
// all: a temporary file, fsync, rename over the old one, fsync of the directory.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { writeFileAtomic } from '../io/json-file.js';

/** Name of a DP-SGD run directory's weights checkpoint. */
export const CHECKPOINT_FILE = 'checkpoint.bin';
const MAGIC = Buffer.from('DPZOCKPT', 'ascii');
const FORMAT = 'dpzo-checkpoint/1';
const HASH_BYTES = 32;
const TEMP_PREFIX = `.${CHECKPOINT_FILE}.`;

/** Removes the temporary files of checkpoint writes a crash interrupted (never renamed into place: nothing reads them). */
export function removeCheckpointTemps(runDir: string): void {
  for (const f of readdirSync(runDir)) if (f.startsWith(TEMP_PREFIX) && f.endsWith('.tmp')) rmSync(join(runDir, f), { force: true });
}

/** What a checkpoint holds: the state after `step` applied updates. */
export interface GradientCheckpoint {
  /** Updates applied to the base weights (the steps 0 … step−1 of the ledger that were not lost). */
  step: number;
  /** The run it belongs to (run.json runId): a checkpoint copied from another run is refused. */
  runId: string;
  /** The trainable parameters, flat in canonical order. */
  theta: Float32Array;
  /** Adam's state, for an Adam run. */
  adam?: { m: Float32Array; v: Float32Array; t: number };
}

interface Header {
  format: string;
  runId: string;
  step: number;
  numTrainable: number;
  adamT?: number;
}

function sha256Hex(parts: Buffer[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes `c` into `runDir` atomically: a reader (or a resume after kill -9) sees the old checkpoint or the new one, whole. */
export function writeCheckpoint(runDir: string, c: GradientCheckpoint): void {
  const header: Header = {
    format: FORMAT,
    runId: c.runId,
    step: c.step,
    numTrainable: c.theta.length,
    ...(c.adam ? { adamT: c.adam.t } : {}),
  };
  const h = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length, 0);
  const parts = [MAGIC, len, h, bytesOf(c.theta), ...(c.adam ? [bytesOf(c.adam.m), bytesOf(c.adam.v)] : [])];
  const hash = Buffer.from(sha256Hex(parts), 'hex');
  const path = join(runDir, CHECKPOINT_FILE);
  try {
    // a temporary name removeCheckpointTemps finds after a crash
    writeFileAtomic(path, [...parts, hash], join(runDir, `${TEMP_PREFIX}${randomUUID()}.tmp`));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw e instanceof DpzoError ? e : new DpzoError('ERR_IO', `cannot write ${path} (${code ?? 'error'})`);
  }
}

function floats(buf: Buffer, offset: number, n: number): Float32Array {
  // copied into an aligned buffer of its own (the file's offsets need not be multiples of 4)
  const out = new Float32Array(n);
  Buffer.from(out.buffer).set(buf.subarray(offset, offset + n * 4));
  return out;
}

/**
 * Reads the checkpoint of `runDir`, or null when the run has none yet (no update was checkpointed). Checks
 * its SHA-256, its format, that it belongs to `runId`, holds `numTrainable` parameters and, with `adam`,
 * the optimizer state.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the file and what is wrong.
 */
export function readCheckpoint(runDir: string, expect: { runId: string; numTrainable: number; adam: boolean }): GradientCheckpoint | null {
  const path = join(runDir, CHECKPOINT_FILE);
  if (!existsSync(path)) return null;
  const corrupt = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${path}: ${why}`);
  const buf = readFileSync(path);
  if (buf.length < MAGIC.length + 4 + HASH_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('not a dpzo checkpoint');
  const body = buf.subarray(0, buf.length - HASH_BYTES);
  if (sha256Hex([body]) !== buf.subarray(buf.length - HASH_BYTES).toString('hex')) throw corrupt('its SHA-256 does not match its content (torn or altered)');
  const hLen = buf.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + hLen;
  if (start > body.length) throw corrupt('its header overruns the file');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, start).toString('utf8')) as Header;
  } catch {
    throw corrupt('its header is not valid JSON');
  }
  if (header.format !== FORMAT) throw corrupt(`format '${String(header.format)}' is not ${FORMAT}`);
  if (header.runId !== expect.runId) throw corrupt("it belongs to another run (its runId is not its run's: run.json or trainer_state.json)");
  if (header.numTrainable !== expect.numTrainable)
    throw corrupt(`it holds ${header.numTrainable} parameters, the model has ${expect.numTrainable} trainable ones`);
  if (!(Number.isInteger(header.step) && header.step >= 0)) throw corrupt('its step is not a non-negative integer');
  const P = expect.numTrainable;
  const arrays = expect.adam ? 3 : 1;
  if (expect.adam !== (header.adamT !== undefined)) throw corrupt(expect.adam ? 'it has no Adam state' : 'it has an optimizer state the run does not use');
  if (body.length - start !== arrays * P * 4) throw corrupt(`its payload has ${body.length - start} bytes, expected ${arrays * P * 4}`);
  const theta = floats(buf, start, P);
  if (!expect.adam) return { step: header.step, runId: header.runId, theta };
  const t = header.adamT!;
  if (!(Number.isInteger(t) && t >= 0)) throw corrupt('its Adam step count is not a non-negative integer');
  return { step: header.step, runId: header.runId, theta, adam: { m: floats(buf, start + P * 4, P), v: floats(buf, start + 2 * P * 4, P), t } };
}
