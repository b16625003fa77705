// --model org/name (issue 16): a Hugging Face repository id resolves to its snapshot in the local hub
// cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; refs/<revision> → snapshots/<commit>),
// a local directory of that name wins, and nothing is ever downloaded: a model not in the cache is one
// line naming the id, the cache and the command that would fetch it.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { hubCacheDir, loadModel, resolveModelDir } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';
import { writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-hf-cache-');
afterAll(() => tmp.cleanup());
const home = join(tmp.dir, 'hf-home');
const repo = join(home, 'hub', 'models--tiny-org--tiny-llama');
const MAIN = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
writeTinyModel(join(tmp.dir, 'model'));
for (const commit of [MAIN, OLD]) cpSync(join(tmp.dir, 'model'), join(repo, 'snapshots', commit), { recursive: true });
mkdirSync(join(repo, 'refs'), { recursive: true });
writeFileSync(join(repo, 'refs', 'main'), MAIN + '\n');
writeFileSync(join(repo, 'refs', 'v1'), OLD);

describe('Hugging Face cache ids', () => {
  it('the cache directory follows HF_HUB_CACHE, then HF_HOME, then XDG_CACHE_HOME / ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' })).toBe('/x/hub');
    expect(hubCacheDir({ HF_HOME: '/y' })).toBe('/y/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/z' })).toBe('/z/huggingface/hub');
  });

  it('org/name resolves through refs/main, @revision through its ref or a commit', () => {
    const env = { HF_HOME: home };
    expect(resolveModelDir('tiny-org/tiny-llama', env)).toBe(join(repo, 'snapshots', MAIN));
    expect(resolveModelDir('tiny-org/tiny-llama@v1', env)).toBe(join(repo, 'snapshots', OLD));
    expect(resolveModelDir(`tiny-org/tiny-llama@${OLD}`, env)).toBe(join(repo, 'snapshots', OLD));
    expect(resolveModelDir('tiny-org/tiny-llama', { HF_HUB_CACHE: join(home, 'hub') })).toBe(join(repo, 'snapshots', MAIN));
  });

  it('a local directory of the same name wins; a path that is not an id is left to the loader', () => {
    const cwdLike = join(tmp.dir, 'model');
    expect(resolveModelDir(cwdLike, { HF_HOME: home })).toBe(cwdLike);
    expect(resolveModelDir('./no/such/dir/here', { HF_HOME: home })).toBe('./no/such/dir/here');
  });

  it('not in the cache: ERR_CONFIG_MISSING naming the id, the cache and how to fetch it; nothing downloaded', () => {
    const env = { HF_HOME: home };
    expect(() => resolveModelDir('facebook/opt-125m', env)).toThrow(/facebook\/opt-125m is not in the Hugging Face cache .*never downloads.*huggingface-cli download facebook\/opt-125m/);
    expect(() => resolveModelDir('tiny-org/tiny-llama@v2', env)).toThrow(/revision 'v2'.*--revision v2/);
    try {
      resolveModelDir('facebook/opt-125m', env);
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_CONFIG_MISSING');
    }
  });

  it('loadModel and the CLI take the id: the model is the snapshot', async () => {
    const saved = process.env.HF_HOME;
    process.env.HF_HOME = home;
    try {
      const m = await loadModel('tiny-org/tiny-llama', { threads: 1 });
      expect(m.dir).toBe(join(repo, 'snapshots', MAIN));
      m.dispose();
    } finally {
      if (saved === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = saved;
    }
    process.env.HF_HOME = home;
    try {
      const [ok, missing] = await Promise.all([dpzo('info', '--model', 'tiny-org/tiny-llama', '--json'), dpzo('info', '--model', 'tiny-org/absent', '--json')]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).dir).toBe(join(repo, 'snapshots', MAIN));
      expect(missing.status).toBe(2);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/tiny-org\/absent is not in the Hugging Face cache/);
    } finally {
      if (saved === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = saved;
    }
  });
});
