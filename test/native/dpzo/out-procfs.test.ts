// `dpzo train --out DIR` where DIR cannot be made under a parent that exists (procfs): Node's recursive mkdirSync
// never returned there, so train spun at full CPU, deaf to Ctrl-C, after loading the model. Now one line, exit 2.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { CLI_MAIN, ROOT } from '../../helpers/cli.js';

describe.skipIf(process.platform !== 'linux')('dpzo train --out under /proc', () => {
  it('one line naming the run directory, exit 2, at once', { timeout: 60_000 }, async () => {
    const args = ['train', '--model', 'data/models/word-llama', '--data', 'data/sst2/train.tsv', '--task', 'classification'];
    args.push('--epsilon', '8', '--delta', '1e-5', '--steps', '2', '--threads', '1', '--out', '/proc/nope');
    const c = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // the old code never ended: killed, it fails on the status
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    const status = await new Promise<number | null>((res) => c.on('close', res));
    clearTimeout(timer);
    expect(status, stderr).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('/proc/nope');
    expect(lines[0]).toContain('ENOENT');
  });
});
