// The forward suite again through cblas_sgemm (DPZO_GEMM=blas), in its own
// worker process, when this build linked a system BLAS; skipped otherwise.
import { describe, it } from 'vitest';

import { native } from '../../lib/native.js';

process.env.DPZO_GEMM = 'blas'; // read once, at the first GEMM of this process

if (native.backends.includes('openblas')) {
  await import('./forward.test.js');
} else {
  describe('forward through a system BLAS', () => {
    it.skip('this build has no system BLAS (CMake did not find OpenBLAS)', () => {});
  });
}
