// The API reference (typedoc.json, `npm run docs`): every symbol lib/index.ts exports — functions, classes and their
// public members, interfaces and their fields, type aliases, constants — has a doc comment, checked by TypeDoc's
// validation with every warning an error. A new undocumented export fails here, before it reaches a release.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/cli.js';

const TYPEDOC = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** Runs TypeDoc with `args` (no output written); a whole run takes ~10 s on two busy cores. */
function typedoc(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [TYPEDOC, '--emit', 'none', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const scratch = mkdtempSync(join(tmpdir(), 'dpzo-api-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('API reference', () => {
  it('documents every public symbol: typedoc.json validates with no warning', { timeout: 90_000 }, () => {
    const r = typedoc();
    expect(r.output).not.toMatch(/\[warning\]|\[error\]/);
    expect(r.status, r.output).toBe(0);
  });

  it("fails on an undocumented export under the same configuration (the check is live, not a run that can't fail)", { timeout: 90_000 }, () => {
    writeFileSync(
      join(scratch, 'entry.ts'),
      [
        '/** A documented function. */',
        'export function documented(): number {',
        '  return 1;',
        '}',
        'export const undocumentedConstant = 2;',
        '/** An interface whose field is not. */',
        'export interface Shape {',
        '  undocumentedField: number;',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), compilerOptions: { rootDir: scratch, types: [] }, include: [join(scratch, 'entry.ts')] }),
    );
    // the repository's typedoc.json, only the entry point and its tsconfig swapped (and no internal names to expect)
    writeFileSync(
      join(scratch, 'typedoc.json'),
      JSON.stringify({
        extends: [join(ROOT, 'typedoc.json')],
        entryPoints: [join(scratch, 'entry.ts')],
        tsconfig: join(scratch, 'tsconfig.json'),
        intentionallyNotExported: [],
      }),
    );
    const r = typedoc('--options', join(scratch, 'typedoc.json'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/undocumentedConstant \(Variable\).*does not have any documentation/);
    expect(r.output).toMatch(/Shape\.undocumentedField \(Property\).*does not have any documentation/);
    expect(r.output).not.toMatch(/documented \(CallSignature\)/);
  });
});
