// resolveModelDir is exported (lib/index.ts): an argument that is not a string is a coded error, as loadModel's is. A
// number failed as a TypeError ("given.includes is not a function").
import { describe, expect, it } from 'vitest';

import { DpzoError, resolveModelDir } from '../../../lib/index.js';

describe('resolveModelDir arguments', () => {
  it.each([5, null, undefined, ['org/name'], { dir: 'x' }])('%j is ERR_ARGUMENT', (given) => {
    let err: unknown;
    try {
      resolveModelDir(given as unknown as string, { HF_HUB_CACHE: '/nonexistent-hub' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DpzoError);
    expect((err as DpzoError).code).toBe('ERR_ARGUMENT');
  });

  it('a path that is not an id still comes back for the loader to name', () => {
    expect(resolveModelDir('./no/such/dir/x/y', { HF_HUB_CACHE: '/nonexistent-hub' })).toBe('./no/such/dir/x/y');
  });
});
