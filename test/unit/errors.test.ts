// One list of native error codes (lib/errors.ts NATIVE_ERROR_CODES): every code the native
// sources can raise is in it, and it names none that they cannot (ERR_ADDON is the loader's).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
