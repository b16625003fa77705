// An export is durable once exportRun returns: every file of the staging directory (the tokenizer files and README.md
// as well as the weights and config.json the native save fsyncs) and the staging directory are fsynced before it is
// renamed to --out, and the parent directory after, so a power loss leaves the old state or the whole export. Before,
// only the save's two files were fsynced: README.md and tokenizer.json could come back empty under a complete-looking
// directory. node:fs is wrapped here to see which paths were fsynced, and when.
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { parseRunConfig } from '../../../lib/dpzo/config.js';
import { exportRun } from '../../../lib/dpzo/index.js';
import { prepareRun } from '../../../lib/dpzo/session.js';
import { loadModel } from '../../../lib/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

/** 'fsync <path>' and 'rename <from> <to>', in order, for the paths opened through node:fs. */
const events: string[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const paths = new Map<number, string>();
  const openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (real.openSync as (...a: unknown[]) => number)(path, ...rest);
    paths.set(fd, resolve(String(path)));
    return fd;
  }) as typeof real.openSync;
  const fsyncSync = (fd: number) => {
    real.fsyncSync(fd);
    events.push(`fsync ${paths.get(fd) ?? `fd ${fd}`}`);
  };
  const renameSync = (from: fs.PathLike, to: fs.PathLike) => {
    real.renameSync(from, to);
    events.push(`rename ${resolve(String(from))} ${resolve(String(to))}`);
  };
  return { ...real, default: { ...real, openSync, fsyncSync, renameSync }, openSync, fsyncSync, renameSync };
});

const tmp = makeTempDir('dpzo-export-durable-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
fs.writeFileSync(join(p.model, 'tokenizer_config.json'), '{}\n'); // a side file the export copies
writeCyclesJsonl(p.train, 100, 1);

describe('exportRun', () => {
  it('fsyncs every file of the staging directory and the directory before the rename, and the parent after', async () => {
    const out = join(tmp.dir, 'run');
    const cfg = parseRunConfig({ model: p.model, data: p.train, task: 'tokens', epsilon: 8, delta: 1e-5, accountant: 'rdp', steps: 2, batchSize: 10, threads: 1, out }, 'test');
    const { model, trainer } = await prepareRun(cfg);
    await trainer.train();
    model.dispose();
    const fresh = await loadModel(p.model, { threads: 1 });
    const exported = resolve(tmp.dir, 'exported');
    events.length = 0;
    try {
      await exportRun(fresh, out, exported);
    } finally {
      fresh.dispose();
    }
    const rename = events.findIndex((e) => e.startsWith('rename ') && e.endsWith(` ${exported}`));
    expect(rename, events.join("\n")).toBeGreaterThanOrEqual(0);
    const staging = events[rename]!.split(' ')[1]!;
    const before = events.slice(0, rename);
    for (const f of fs.readdirSync(exported).filter((f) => f !== 'model.safetensors' && f !== 'config.json')) {
      expect(before, f).toContain(`fsync ${join(staging, f)}`);
    }
    expect(fs.readdirSync(exported)).toEqual(expect.arrayContaining(['README.md', 'tokenizer_config.json']));
    expect(before).toContain(`fsync ${staging}`);
    expect(events.slice(rename + 1)).toContain(`fsync ${dirname(exported)}`);
  });
});
