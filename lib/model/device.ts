// defines: checkDevice — the one check of a device string ('cpu' | 'cuda' | 'cuda:N' | 'auto') that the API
// and every CLI command share, so a bad value is refused with the same one-line message before any work.
import { DpzoError } from '../errors.js';
import type { Device } from './types.js';

/** The largest N of 'cuda:N' accepted (the native registry refuses an index its runtime does not report). */
export const MAX_CUDA_INDEX = 1023;

/**
 * Validates a device string: `'cpu'`, `'cuda'` (= `'cuda:0'`), `'cuda:N'` with N a decimal integer in [0, 1023] without
 * leading zeros, or `'auto'`. Whether that device exists is the native registry's question (`ERR_DEVICE`).
 *
 * @param device The value to check.
 * @returns The value, typed.
 * @throws {@link DpzoError} `ERR_ARGUMENT` naming the value when it is none of these.
 */
export function checkDevice(device: unknown): Device {
  if (device === 'cpu' || device === 'cuda' || device === 'auto') return device;
  if (typeof device === 'string') {
    const m = /^cuda:(0|[1-9][0-9]{0,3})$/.exec(device);
    if (m && Number(m[1]) <= MAX_CUDA_INDEX) return device as Device;
  }
  const shown = typeof device === 'string' ? `'${device.slice(0, 40)}'` : typeof device;
  throw new DpzoError('ERR_ARGUMENT', `device must be 'cpu', 'cuda', 'cuda:N' (N in 0..${MAX_CUDA_INDEX}) or 'auto' (got ${shown})`);
}
