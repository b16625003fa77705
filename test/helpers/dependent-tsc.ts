// defines: compileAsDependent — type-checks TypeScript files in `dir` as a project that depends on dpzo would
// (node_modules/dpzo → this repository, strict NodeNext with exactOptionalPropertyTypes and the .d.ts files checked).
// One set-up for the packaging tests that compile as a dependent (consumer-types, doc-examples).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './cli.js';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Links dpzo into `dir`'s node_modules, writes the dependent's tsconfig.json (`files` named, else every *.ts in `dir`) and
 * runs tsc there; returns its output (stdout + stderr) and the stdout alone (one diagnostic a line).
 */
export function compileAsDependent(dir: string, files?: string[]): { output: string; stdout: string } {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'dpzo'), 'dir');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      ...(files ? { files } : { include: ['*.ts'] }),
    }),
  );
  const r = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
  return { output: r.stdout + r.stderr, stdout: r.stdout };
}
