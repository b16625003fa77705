// The layering of lib/ (issue 8): imports form no loop (types included); lib/dpzo reaches
// the privacy layer only through its index; append-only JSONL is written and repaired in
// one place (lib/io/jsonl.ts); the package exports the documented API and no internals.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIB = fileURLToPath(new URL('../../lib', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const ALL = files(LIB);
const rel = (p: string) => relative(LIB, p).split('\\').join('/');

/** Relative imports and re-exports of a file (static `import`/`export … from`, type-only included, and `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) out.push(m[1]!);
  return out.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

describe('structure of lib/', () => {
  it('the import parser sees imports (a check of the check)', () => {
    expect(importsOf(join(LIB, 'dpzo', 'trainer.ts')).map(rel)).toEqual(expect.arrayContaining(['dpzo/step.ts', 'privacy/index.ts', 'errors.ts']));
  });

  it('has no import loop, type imports included', () => {
    const graph = new Map(ALL.map((f) => [f, importsOf(f).filter((t) => ALL.includes(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const loops: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        loops.push([...path.slice(path.indexOf(f)), f].map(rel).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f)!) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of ALL) visit(f, []);
    expect(loops).toEqual([]);
  });

  it('lib/dpzo reaches lib/privacy only through its index', () => {
    const offenders = ALL.filter((f) => rel(f).startsWith('dpzo/')).flatMap((f) =>
      importsOf(f)
        .map(rel)
        .filter((t) => t.startsWith('privacy/') && t !== 'privacy/index.ts')
        .map((t) => `${rel(f)} imports ${t}`),
    );
    expect(offenders).toEqual([]);
  });

  it('only lib/io appends lines or cuts a torn tail (one JSONL primitive under the ledger and the trajectory)', () => {
    const offenders = ALL.filter((f) => !rel(f).startsWith('io/')).filter((f) =>
      /appendLineSync|truncateSync|\btruncate\(|ftruncate|endsWithTornLine/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map(rel)).toEqual([]);
    for (const user of ['privacy/ledger-store.ts', 'dpzo/trajectory.ts']) expect(readFileSync(join(LIB, user), 'utf8')).toMatch(/from '\.\.\/io\/jsonl\.js'/);
  });

  it('there is one accounting path: no lib/dpzo/accounting.ts, and no accountant built outside lib/privacy', () => {
    expect(ALL.map(rel)).not.toContain('dpzo/accounting.ts');
    const builders = ALL.filter((f) => !rel(f).startsWith('privacy/')).filter((f) =>
      /new (Pld|Rdp)Accountant\(|calibrateNoise\(|maxSteps\(/.test(readFileSync(f, 'utf8')),
    );
    expect(builders.map(rel)).toEqual(['cli/commands/calibrate.ts']);
  });

  it('the package exports the documented API, not the raw addon or crash repair', async () => {
    const api = await import('../../lib/index.js');
    for (const name of [
      'loadModel',
      'DPZOTrainer',
      'prepareRun',
      'makePlan',
      'exportRun',
      'pretrain',
      'PrivacyLedger',
      'PldAccountant',
      'calibrateNoise',
      'loadDataset',
      'DpzoError',
      'PrivacyError',
    ]) {
      expect(api, name).toHaveProperty(name);
    }
    for (const name of ['native', 'NativeBackedModel', 'reconcile', 'installTestHooks', 'DEFAULTS', 'spent', 'calibrate'])
      expect(api, name).not.toHaveProperty(name);
  });

  it('every error class is a DpzoError', async () => {
    const { DpzoError, PrivacyError, PrivacyBudgetExceededError, DataError } = await import('../../lib/index.js');
    expect(new PrivacyError('ERR_ARGUMENT', 'x')).toBeInstanceOf(DpzoError);
    expect(new PrivacyBudgetExceededError('x', 2, { epsilon: 1, delta: 1e-5 })).toBeInstanceOf(DpzoError);
    expect(new DataError('ERR_DATA_FIELD', 'x')).toBeInstanceOf(DpzoError);
  });
});
