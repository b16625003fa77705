// One list of native error codes (lib/errors.ts NATIVE_ERROR_CODES): every code the native
// sources can raise is in it, and it names none that they cannot (ERR_ADDON is the loader's).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';

import { DpzoError, NATIVE_ERROR_CODES } from '../../lib/errors.js';
import { ROOT } from '../helpers/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(h|cpp|cu)$/.test(f) ? [p] : [];
  });
}

describe('native error codes', () => {
  it('the TypeScript union is exactly the codes in native/ and cuda/, plus ERR_ADDON', () => {
    const found = new Set<string>();
    for (const f of [...sources(join(ROOT, 'native')), ...sources(join(ROOT, 'cuda'))])
      for (const m of readFileSync(f, 'utf8').matchAll(/"(ERR_[A-Z_]+)"/g)) found.add(m[1]!);
    expect([...found, 'ERR_ADDON'].sort()).toEqual([...NATIVE_ERROR_CODES].sort());
  });

  it('a missing addon is a DpzoError with ERR_ADDON', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `import { nativeAddon } from ${JSON.stringify(join(ROOT, 'lib', 'native.ts'))};
      try { nativeAddon(); } catch (e) { process.stdout.write(JSON.stringify({ name: e.name, code: e.code, dpzo: e instanceof (await import(${JSON.stringify(join(ROOT, 'lib', 'errors.ts'))})).DpzoError })); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, DPZO_ADDON: '/nonexistent/dpzo.node' },
    });
    expect(JSON.parse(r.stdout)).toEqual({ name: 'DpzoError', code: 'ERR_ADDON', dpzo: true });
    expect(new DpzoError('ERR_ADDON', 'x')).toBeInstanceOf(Error);
  });
});

// `field` / `mentions` (the options a plan refusal names) were class fields: every DpzoError carried them as own
// properties set to undefined, and a logged error (util.inspect, a test runner's diff) printed "field: undefined".
describe('DpzoError without field or mentions', () => {
  it('has no such own properties; with them, exactly those given', () => {
    const plain = new DpzoError('ERR_ARGUMENT', 'x');
    expect(Object.keys(plain).sort()).toEqual(['code', 'name']);
    expect(inspect(plain)).not.toMatch(/field|mentions/);
    const named = new DpzoError('ERR_TRAIN_OPTION', 'batchSize (9) exceeds the training set size 3', { field: 'batchSize' });
    expect(Object.keys(named).sort()).toEqual(['code', 'field', 'name']);
    expect(named.field).toBe('batchSize');
  });
});
