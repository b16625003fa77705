// The shipped declarations (dist/*.d.ts, reached through package.json's "types") compile in a consumer's strictest
// settings: exactOptionalPropertyTypes with skipLibCheck off. RunDirectory implemented RunHandles with
// `dataset: DatasetLedger | undefined` against an optional `dataset?: DatasetLedger`, a TS2420 in every such consumer.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/cli.js';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const scratch = mkdtempSync(join(tmpdir(), 'dpzo-consumer-types-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('shipped type declarations', () => {
  it('compile in a consumer with exactOptionalPropertyTypes and skipLibCheck off', { timeout: 120_000 }, () => {
    // the package as a dependency: node_modules/dpzo -> the repository (its package.json "exports"/"types" → dist/index.d.ts)
    mkdirSync(join(scratch, 'node_modules'));
    symlinkSync(ROOT, join(scratch, 'node_modules', 'dpzo'), 'dir');
    writeFileSync(
      join(scratch, 'consumer.ts'),
      [
        "import { DPZOTrainer, loadDataset, loadModel, type TrainOptions } from 'dpzo';",
        'export const used: unknown[] = [DPZOTrainer, loadDataset, loadModel];',
        'export type Options = TrainOptions;',
        // the flag is live in this very compile: this one is an error only under exactOptionalPropertyTypes
        'interface Canary { readonly x?: number }',
        'export class CanaryImpl implements Canary { readonly x: number | undefined = undefined; }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
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
        files: ['consumer.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', join(scratch, 'tsconfig.json')], { cwd: scratch, encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    // exactly the canary: nothing from dist/*.d.ts (nor a failure to resolve 'dpzo')
    expect(errors, r.stdout + r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^consumer\.ts\(5,\d+\): error TS2420: Class 'CanaryImpl' incorrectly implements interface 'Canary'/);
  });
});
