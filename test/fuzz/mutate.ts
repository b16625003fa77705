// defines: the fuzz suite's seeded mutations (byte flips, truncations, spliced hostile numbers, duplicated
// ranges; JSON fields set to hostile values, deleted, or changed one level down), shared by the
// library driver (fuzz-child.ts) and the CLI cases (cli-fuzz.test.ts).
import type { Rng } from '../helpers/prng.js';

export const HOSTILE: unknown[] = [0, -1, 1e308, -1e308, 2 ** 62, 2 ** 31, 2 ** 32 + 1, 1.5, '7', null, [], {}, true, 'x'.repeat(300), 1e-300];

export class Mutator {
  constructor(private readonly rng: Rng) {}

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng.uniform() * xs.length)]!;
  }

  int(n: number): number {
    return Math.floor(this.rng.uniform() * n);
  }

  /** Byte-level mutations of buf within [lo, hi): flips, truncation, insertion of a hostile number's text, duplication. */
  bytes(buf: Buffer, lo: number, hi: number): { out: Buffer; how: string } {
    const kind = this.pick(['flip', 'truncate', 'splice', 'dup']);
    const at = lo + this.int(Math.max(1, hi - lo));
    if (kind === 'flip') {
      const out = Buffer.from(buf);
      for (let k = 0; k < 1 + this.int(4); k++) out[lo + this.int(Math.max(1, hi - lo))] ^= 1 << this.int(8);
      return { out, how: 'flip' };
    }
    if (kind === 'truncate') return { out: buf.subarray(0, at), how: `truncate@${at}` };
    if (kind === 'splice') return { out: Buffer.concat([buf.subarray(0, at), Buffer.from(String(this.pick(HOSTILE))), buf.subarray(at)]), how: `splice@${at}` };
    return { out: Buffer.concat([buf.subarray(0, at), buf.subarray(lo, hi), buf.subarray(at)]), how: `dup@${at}` };
  }

  /** Structured JSON mutation in place: a field set to a hostile value, deleted, or a nested field changed. */
  json(obj: Record<string, unknown>): string {
    const k = this.pick(Object.keys(obj));
    const kind = this.pick(['set', 'delete', 'nested']);
    if (kind === 'delete') delete obj[k];
    else if (kind === 'nested' && obj[k] && typeof obj[k] === 'object') {
      const inner = obj[k] as Record<string, unknown>;
      const ik = this.pick(Object.keys(inner).length ? Object.keys(inner) : ['x']);
      inner[ik] = this.pick(HOSTILE);
    } else obj[k] = this.pick(HOSTILE);
    return `${kind}:${k}`;
  }
}
