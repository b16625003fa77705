// dpzo train in a real terminal (issue 16.3): run under a pseudo-terminal
// (util-linux `script`), replay the bytes through a minimal terminal and check
// the screen a person sees at the end: every plan line and every summary line
// whole and in order, and the final progress bar. The progress bar used to
// restore a cursor position saved before the plan was printed, so the summary
// overwrote the plan.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo, CLI_MAIN, ROOT } from '../../helpers/cli.js';
import { renderScreen } from '../../helpers/screen.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = makeTempDir('dpzo-tty-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);
writeCyclesJsonl(p.eval, 20, 2);

const trainArgs = (out: string): string[] =>
  ['train', '--model', p.model, '--data', p.train, '--eval', p.eval, '--eval-public', '--eval-every', '10', '--task', 'tokens'].concat(
    ['--epsilon', '8', '--delta', '1e-5', '--steps', '30', '--batch-size', '10', '--threads', '1', '--out', out],
  );

// numbers differ between two runs (noise, timings): compare the words around them
const shape = (line: string): string => line.replace(/[0-9][0-9.,e+-]*/g, '#');
const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!haveScript)('dpzo train on a terminal', () => {
  it('the screen keeps the plan, the notes and the summary whole, in order', { timeout: 120_000 }, async () => {
    const plain = await dpzo(...trainArgs(join(tmp.dir, 'plain')));
    expect(plain.status).toBe(0);
    const expected = [...plain.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('train step')), ...plain.stdout.split('\n').filter((l) => l !== '')];
    expect(expected.some((l) => l.startsWith('eval @ step'))).toBe(true);

    const cmd = [process.execPath, CLI_MAIN, ...trainArgs(join(tmp.dir, 'tty'))].map(quote).join(' ');
    const r = spawnSync('script', ['-qfec', `stty cols 200 rows 60; exec ${cmd}`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
    expect(r.status).toBe(0);
    const screen = renderScreen(r.stdout, 200);
    const bars = screen.filter((l) => l.startsWith('train |'));
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatch(/\| 30\/30 \|/);
    const sameRun = (l: string): string => l.replace(join(tmp.dir, 'plain'), join(tmp.dir, 'tty'));
    expect(screen.filter((l) => !l.startsWith('train |')).map(shape)).toEqual(expected.map(sameRun).map(shape));
    // the bar sits between the notes printed while training and the summary
    expect(screen.indexOf(bars[0])).toBe(plain.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('train step')).length);
  });
});
