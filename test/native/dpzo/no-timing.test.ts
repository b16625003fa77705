// Issue 11.1: nothing persisted per step carries wall-clock time. A step's duration grows with the
// tokens in its Poisson batch, so per-step timestamps in a shared run directory reveal membership
// (measured: 155 ms gaps exactly at the steps where one long example was sampled, 26-35 ms otherwise).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-no-timing-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 120, 1);
writeCyclesJsonl(p.eval, 20, 2);

const TIME_KEY = /time|elapsed|second|duration|created|date|clock|^at$|^ts$/i;
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
// run-level start only: allowed once per file, never per line
const RUN_LEVEL: Record<string, string[]> = { 'run.json': ['createdAt'], 'ledger.jsonl': ['created'] };

/** Every key path in a JSON value whose key looks like a time, and every string that looks like a date. */
function timeLike(v: unknown, path = ''): string[] {
  if (typeof v === 'string') return ISO.test(v) ? [`${path} = ${v}`] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => timeLike(x, `${path}[${i}]`));
  if (v && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => [...(TIME_KEY.test(k) ? [`${path}.${k}`] : []), ...timeLike(x, `${path}.${k}`)]);
  }
  return [];
}

describe('no per-step time anywhere in a run', () => {
  it('ledger, trajectory, metrics and run.json carry no per-step time or duration (and onStep none: see trainer.test)', async () => {
    const out = join(tmp.dir, 'run');
    const r = await dpzo('train', '--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp',
      '--batch-size', '12', '--steps', '8', '--eval', p.eval, '--eval-public', '--threads', '1', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out).filter((f) => f.endsWith('.json') || f.endsWith('.jsonl'));
    expect(files).toEqual(expect.arrayContaining(['run.json', 'ledger.jsonl', 'trajectory.jsonl', 'metrics.jsonl']));
    for (const f of files) {
      const text = readFileSync(join(out, f), 'utf8');
      const docs = f.endsWith('.jsonl') ? text.trim().split('\n').map((l) => JSON.parse(l)) : [JSON.parse(text)];
      const allowed = RUN_LEVEL[f] ?? [];
      docs.forEach((doc, i) => {
        const runLevel = (hit: string) =>
          (i === 0 && allowed.some((k) => hit === `.${k}` || hit.startsWith(`.${k} = `))) ||
          // the end-of-run report line: run-level wall time is allowed (issue 11.1), once
          (f === 'metrics.jsonl' && (doc as { type?: string }).type === 'report' && ['.seconds', '.stepsPerSecond'].includes(hit));
        const found = timeLike(doc).filter((hit) => !runLevel(hit));
        expect(found, `${f} line ${i + 1}`).toEqual([]);
      });
    }
    // the report: run-level seconds and steps/s only, nothing per step
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(timeLike(report).sort()).toEqual(['.seconds', '.stepsPerSecond']);
  });
});
