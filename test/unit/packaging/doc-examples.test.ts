// The code a user copies: every ```ts block of README.md and docs/*.md and every `@example` of the doc comments under lib/
// (what the API reference shows) type-checks as a dependent's code against the shipped declarations (package.json "types":
// dist/*.d.ts), strict, with exactOptionalPropertyTypes. And a dependent can name the types the exported signatures use
// (options, results, fields): typedoc.json listed twenty of them as "intentionally not exported", so a consumer could not
// write `const a: CalibrationAccountant = 'pld'` or type a variable holding readTrajectory's result.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/cli.js';
import { compileAsDependent } from '../../helpers/dependent-tsc.js';

interface Block {
  /** file:line of the opening fence (or of the `@example` tag). */
  where: string;
  code: string;
}

/** The ```ts blocks of a Markdown file. */
function markdownBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i]!)) continue;
    const start = i;
    const code: string[] = [];
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!)) code.push(lines[i]!);
    out.push({ where: `${file}:${start + 1}`, code: code.join('\n') });
  }
  return out;
}

/** The `@example` blocks (a ```ts fence inside the doc comment) of a TypeScript file, the comment's ` * ` removed. */
function exampleBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\* @example\s*$/.test(lines[i]!) || !/^\s*\* ```ts\s*$/.test(lines[i + 1] ?? '')) continue;
    const start = i;
    i++;
    const code: string[] = [];
    while (++i < lines.length && !/^\s*\* ```\s*$/.test(lines[i]!)) code.push(lines[i]!.replace(/^\s*\* ?/, ''));
    out.push({ where: `${relative(ROOT, file)}:${start + 1}`, code: code.join('\n') });
  }
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const docs = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .map((n) => `docs/${n}`),
];
const blocks: Block[] = [...docs.flatMap(markdownBlocks), ...tsFiles(join(ROOT, 'lib')).flatMap(exampleBlocks)];

/** Names the examples leave to the reader (`trainer.train({ signal, onStep })`): declared once, globally; a block's own declaration shadows them. */
const FREE_NAMES = [
  'declare var signal: AbortSignal;',
  "declare var onStep: NonNullable<import('dpzo').TrainCallbacks['onStep']>;",
  "declare var onEval: NonNullable<import('dpzo').TrainCallbacks['onEval']>;",
  "declare var onWarning: NonNullable<import('dpzo').TrainCallbacks['onWarning']>;",
  '',
].join('\n');

/** Types that exported functions and classes take or return; each must be importable from 'dpzo' by its name. */
const NAMED_TYPES = [
  'CalibrationAccountant',
  'ComposeGroup',
  'ComposeOptions',
  'DatasetSpent',
  'DiscretizeOptions',
  'LedgerHeader',
  'LmFormat',
  'NativeBackedModel',
  'NoNoiseMechanism',
  'RdpDelta',
  'RdpEpsilon',
  'ReleaseOrigin',
  'ResolvedPldOptions',
  'RunTrace',
  'StepForm',
  'TensorInfo',
  'TrajectoryRead',
  'VoidRecord',
];
const NAMES = [
  `import type { ${NAMED_TYPES.join(', ')} } from 'dpzo';`,
  "import { NATIVE_ERROR_CODES, calibrateNoise, readTrajectory, type NativeErrorCode, type PrivacyLedger, type TrainReport } from 'dpzo';",
  'export const accountant: CalibrationAccountant = calibrateNoise({ epsilon: 1, delta: 1e-5, sampleRate: 0.01, steps: 10 }).accountant;',
  'export const read: (dir: string) => TrajectoryRead = readTrajectory;',
  'export const header = (l: PrivacyLedger): LedgerHeader => l.header;',
  'export const dataset = (r: TrainReport): DatasetSpent | undefined => r.dataset;',
  'export const codes: readonly NativeErrorCode[] = NATIVE_ERROR_CODES;',
  // what loadModel returns is nameable (it was an unexported class), and its backward pass needs no `!` (Model's is optional)
  "import { loadModel, type LossBatch } from 'dpzo';",
  'export const load: (dir: string) => Promise<NativeBackedModel> = loadModel;',
  'export const backward = (m: NativeBackedModel, b: LossBatch) => m.lossAndGradient(b);',
  'export const layout = (m: NativeBackedModel): TensorInfo[] => m.tensors();',
  // the errors exported functions throw: a caller tests for them (discretizePair, composePlds, composeHistory)
  "import { GridTooLargeError, PldGridError, PrivacyError } from 'dpzo';",
  'export const needed = (e: unknown): number | undefined => (e instanceof GridTooLargeError ? e.needed : undefined);',
  'export const isPrivacy = (e: PldGridError): PrivacyError => e;',
  `export type All = [${NAMED_TYPES.filter((t) => !['CalibrationAccountant', 'TrajectoryRead', 'LedgerHeader', 'DatasetSpent', 'NativeBackedModel', 'TensorInfo'].includes(t)).join(', ')}];`,
  '',
].join('\n');

/** A block as a broken example would be: an option misspelt. It must be the one error of its file (the check is live). */
const CANARY = "import { loadModel } from 'dpzo';\nexport const m = await loadModel('m', { trainabel: ['norm'] });\n";

const scratch = mkdtempSync(join(tmpdir(), 'dpzo-doc-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** tsc's errors by file name. */
let errors = new Map<string, string[]>();
let output = '';

beforeAll(() => {
  writeFileSync(join(scratch, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(scratch, 'free-names.d.ts'), FREE_NAMES);
  blocks.forEach((b, k) => writeFileSync(join(scratch, `example-${k}.ts`), `// ${b.where}\nexport {};\n${b.code}\n`));
  writeFileSync(join(scratch, 'names.ts'), NAMES);
  writeFileSync(join(scratch, 'canary.ts'), CANARY);
  // the package as a dependency: node_modules/dpzo -> the repository (its "exports"/"types" → dist/index.d.ts)
  const r = compileAsDependent(scratch);
  output = r.output;
  errors = new Map();
  for (const line of r.stdout.split('\n')) {
    const m = /^([^(]+)\(\d+,\d+\): error TS\d+/.exec(line);
    if (m) errors.set(m[1]!, [...(errors.get(m[1]!) ?? []), line]);
  }
}, 120_000);

describe('code examples in the docs', () => {
  it('finds the README and docs/training.md API blocks and the doc comments’ examples', () => {
    const where = blocks.map((b) => b.where);
    expect(where.some((w) => w.startsWith('README.md:'))).toBe(true);
    expect(where.some((w) => w.startsWith('docs/training.md:'))).toBe(true);
    expect(where.filter((w) => w.startsWith('lib/')).length).toBeGreaterThanOrEqual(8);
  });

  it('each type-checks as a dependent’s strict TypeScript (NodeNext)', () => {
    const failed = blocks.flatMap((b, k) => (errors.get(`example-${k}.ts`) ?? []).map((e) => `${b.where}: ${e}`));
    expect(failed, output).toEqual([]);
    expect(errors.get('free-names.d.ts'), output).toBeUndefined();
  });

  it('a broken example fails the same compile (the check is live)', () => {
    const canary = errors.get('canary.ts') ?? [];
    expect(canary, output).toHaveLength(1);
    expect(canary[0]).toMatch(/'trainabel' does not exist in type 'LoadOptions'/);
  });
});

describe('public types', () => {
  it('a dependent can name the types of the exported signatures (options, results, fields)', () => {
    expect(errors.get('names.ts'), output).toBeUndefined();
  });
});
