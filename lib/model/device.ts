// defines: checkDevice — the one check of a device string ('cpu' | 'cuda' | 'cuda:N' | 'auto') that the API
// and every CLI command share, so a bad value is refused with the same one-line message before any work;
// cpuOnlyDevice — the device of work that has no CUDA path (the backward pass of DP-SGD and pretraining);
// autoCpuNotice — the one-line notice when 'auto' ends up on the CPU.
import { DpzoError } from '../errors.js';
import { nativeAddon } from '../native.js';
import type { Device } from './types.js';

/** The largest N of 'cuda:N' accepted (the native registry refuses an index its runtime does not report). */
export const MAX_CUDA_INDEX = 1023;

/** The accepted values, as error messages name them. */
export const DEVICE_CHOICES = `'cpu', 'cuda', 'cuda:N' (N in 0..${MAX_CUDA_INDEX}) or 'auto'`;

/** Whether `device` is one of {@link DEVICE_CHOICES} (the zod schema of the run configuration asks this too). */
export function isDevice(device: unknown): device is Device {
  if (device === 'cpu' || device === 'cuda' || device === 'auto') return true;
  const m = typeof device === 'string' ? /^cuda:(0|[1-9][0-9]{0,3})$/.exec(device) : null;
  return m !== null && Number(m[1]) <= MAX_CUDA_INDEX;
}

/**
 * Validates a device string: `'cpu'`, `'cuda'` (= `'cuda:0'`), `'cuda:N'` with N a decimal integer in [0, 1023] without
 * leading zeros, or `'auto'`. Whether that device exists is the native registry's question (`ERR_DEVICE`).
 *
 * @param device The value to check.
 * @returns The value, typed.
 * @throws {@link DpzoError} `ERR_ARGUMENT` naming the value when it is none of these.
 */
export function checkDevice(device: unknown): Device {
  if (isDevice(device)) return device;
  const shown = typeof device === 'string' ? `'${device.slice(0, 40)}'` : typeof device;
  throw new DpzoError('ERR_ARGUMENT', `device must be ${DEVICE_CHOICES} (got ${shown})`);
}

const noticed = new Set<string>();
/**
 * device 'auto' ending on the CPU: one line, once per process and reason (a process warning with code DPZO_AUTO_CPU, which the CLI prints to a terminal
 * only, and --no-warnings silences).
 */
export function autoCpuNotice(reason: string): void {
  if (noticed.has(reason)) return;
  noticed.add(reason);
  process.emitWarning(`device 'auto': ${reason}; running on the CPU`, { code: 'DPZO_AUTO_CPU' });
}

/** CUDA devices the addon can use (0 when it cannot load: the model load that follows then says why). */
export function visibleCudaDevices(): number {
  try {
    return nativeAddon().cudaDevices?.() ?? 0;
  } catch {
    return 0;
  }
}

/**
 * The device of work that runs only on the CPU backend (`what`: DP-SGD's or pretraining's backward pass). `'cpu'` and `'auto'` give `'cpu'`; `'auto'` says
 * so ({@link autoCpuNotice}) when a CUDA device was there to pick. A CUDA device is refused before anything is loaded.
 *
 * @param device The requested device (undefined: `'cpu'`); validated by {@link checkDevice}.
 * @param what What needs the CPU, e.g. `'method dpsgd'`.
 * @param cudaDevices The CUDA devices visible (default: the addon's count).
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` for `'cuda'` / `'cuda:N'`, `ERR_ARGUMENT` for a value that is no device.
 */
export function cpuOnlyDevice(device: unknown, what: string, cudaDevices: () => number = visibleCudaDevices): 'cpu' {
  const d = checkDevice(device ?? 'cpu');
  if (d === 'auto') {
    if (cudaDevices() > 0) autoCpuNotice(`${what} needs the backward pass, which runs on the CPU only`);
    return 'cpu';
  }
  if (d !== 'cpu') {
    throw new DpzoError('ERR_TRAIN_OPTION', `device '${d}' cannot run ${what}: its backward pass exists on the CPU only (use device 'cpu' or 'auto')`);
  }
  return d;
}
