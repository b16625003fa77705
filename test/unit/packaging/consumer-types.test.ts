// The shipped declarations (dist/*.d.ts, reached through package.json's "types") compile in a consumer's strictest
// settings: exactOptionalPropertyTypes with skipLibCheck off. RunDirectory implemented RunHandles with
// `dataset: DatasetLedger | undefined` against an optional `dataset?: DatasetLedger`, a TS2420 in every such consumer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { compileAsDependent } from '../../helpers/dependent-tsc.js';

const scratch = mkdtempSync(join(tmpdir(), 'dpzo-consumer-types-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('shipped type declarations', () => {
  it('compile in a consumer with exactOptionalPropertyTypes and skipLibCheck off', { timeout: 120_000 }, () => {
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
    // the package as a dependency: node_modules/dpzo -> the repository (its package.json "exports"/"types" → dist/index.d.ts)
    const r = compileAsDependent(scratch, ['consumer.ts']);
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    // exactly the canary: nothing from dist/*.d.ts (nor a failure to resolve 'dpzo')
    expect(errors, r.output).toHaveLength(1);
    expect(errors[0]).toMatch(/^consumer\.ts\(5,\d+\): error TS2420: Class 'CanaryImpl' incorrectly implements interface 'Canary'/);
  });
});
