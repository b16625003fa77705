// The layering of native/ and cuda/ (issue 8, item 4): the core never includes the CUDA folder
// (cuda/ sees native/include, the core sees the CUDA backend only as cuda_backend_factory()); the
// forward graphs and the loader read tensor names from the family table (core/family.cpp) and the
// typed weights, never by building names; Model hands compute to its Backend.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(h|cpp|cu)$/.test(f) ? [p] : [];
  });
}
const rel = (p: string) => relative(ROOT, p).split('\\').join('/');
const NATIVE = sources(join(ROOT, 'native'));

describe('native layering', () => {
  it('nothing in native/ (but the check driver) includes from cuda/', () => {
    const offenders = NATIVE.filter((f) => !rel(f).startsWith('native/tools/')).filter((f) =>
      /#include\s+"(cuda_backend\.h|\.\.\/.*cuda\/|cuda\/)/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map(rel)).toEqual([]);
  });

  it('cuda/ includes from native/ only the public headers (dpzo/...): batch checks, virtual points and the RoPE table come from the core', () => {
    const offenders = sources(join(ROOT, 'cuda')).filter((f) => /#include\s+"(cpu|core|napi)\//.test(readFileSync(f, 'utf8')));
    expect(offenders.map(rel)).toEqual([]);
    const backend = readFileSync(join(ROOT, 'cuda/backend.cpp'), 'utf8');
    expect(backend).toMatch(/#include "dpzo\/batch_check\.h"/);
    expect(backend).toMatch(/#include "dpzo\/virtual_set\.h"/);
  });

  it('tensor names live in the family table: no graph or loader builds them', () => {
    const offenders = NATIVE.filter((f) => !/core\/family\.cpp$|dpzo\/family\.h$/.test(rel(f))).filter((f) =>
      /"(model\.layers|model\.decoder\.layers|transformer\.h)\.|"\.?(self_attn|mlp|attn)\.[a-z_]+\.(weight|bias)"|"lm_head\.weight"/.test(
        readFileSync(f, 'utf8').replace(/\/\/.*$/gm, ''),
      ),
    );
    expect(offenders.map(rel)).toEqual([]);
  });

  it('Model runs no kernel itself: compute goes through backend_', () => {
    const model = readFileSync(join(ROOT, 'native/core/model.cpp'), 'utf8');
    expect(model).not.toMatch(/\baxpy_directions\(|\bscale_segments\(|cpu::/);
    expect(model).toMatch(/backend_->update\(/);
    const header = readFileSync(join(ROOT, 'native/include/dpzo/model.h'), 'utf8');
    expect(header).not.toMatch(/forward_state/);
  });
});
