// `dpzo env`: what a bug report needs (as `accelerate env`): versions, the
// addon file and its compiled backends, the CPU (the CPUs this process may use
// and the machine's) and its SIMD path, BLAS, the GPUs the addon can use and the
// ones the driver sees, and the toolchain a source build would use. Every probe
// that fails says so in its row; the command itself always succeeds.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, release, type } from 'node:os';
import type { Command } from 'commander';
import { glibcVersion, resolveAddonPath } from '../../addon-path.js';
import { nativeAddon } from '../../native.js';
import { packageRoot, packageVersion } from '../../package-info.js';
import { printTable } from '../format.js';

export interface EnvReport {
  dpzo: string;
  packageRoot: string;
  node: string;
  napi: string;
  os: string;
  platform: string;
  libc: string;
  cpu: string;
  /** The machine's logical cores. */
  cores: number;
  /** The CPUs this process may use (affinity mask and cgroup CPU quota): what threads 0 runs on. */
  usableCpus: number;
  addon: string;
  /** Comma-separated, e.g. "cpu" or "cpu,cuda"; "" when the addon does not load. */
  backends: string;
  isa: string;
  blas: string;
  /**
   * The GPUs dpzo can use, as the addon sees them ('cuda:N name, X GiB'), or, where the addon does not load or is too
   * old to list them, the driver's (nvidia-smi); `gpuSource` says which.
   */
  gpus: string[];
  gpuSource: 'addon' | 'nvidia-smi';
  /** What nvidia-smi lists (name, memory, driver), [] without it: a GPU the driver sees and the addon does not is the bug. */
  driverGpus: string[];
  nvcc: string;
  cmake: string;
}

/** First line of `cmd args` stdout, or undefined when it cannot run. */
function firstLine(cmd: string, args: string[], pick?: (out: string) => string | undefined): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0 || !r.stdout) return undefined;
  return pick ? pick(r.stdout) : r.stdout.split('\n')[0].trim();
}

function libc(): string {
  if (process.platform !== 'linux') return 'n/a';
  const v = glibcVersion();
  return v ? `glibc ${v}` : 'musl';
}

/** BLAS as the addon reports it, else (Linux) from the libraries the addon file links. */
function blasOf(addon: Record<string, unknown> | undefined, file: string | undefined): string {
  if (typeof addon?.blas === 'string') return addon.blas || 'none';
  if (!file || process.platform !== 'linux') return 'unknown';
  const libs = firstLine('ldd', [file], (out) => out);
  if (libs === undefined) return 'unknown (ldd failed)';
  const blas = libs
    .split('\n')
    .map((l) => l.trim().split(' ')[0])
    .filter((l) => /blas|mkl/i.test(l));
  if (!blas.length) return 'none (built-in GEMM)';
  // linked is not used: the core multiplies with its own kernels unless DPZO_GEMM=blas (float32 weights only), and the
  // row named the library alone, as if every product went through it
  const use = process.env.DPZO_GEMM === 'blas' ? 'used for float32 weights: DPZO_GEMM=blas' : 'linked, not used: the built-in GEMM runs unless DPZO_GEMM=blas';
  return `${blas.join(', ')} (${use})`;
}

/**
 * The SIMD path the addon picks, or why it cannot say: a bad DPZO_ISA override makes directionIsa() throw, and that
 * threw out of `dpzo env` (exit 2, nothing printed), the command a user with that setting runs to find out why.
 */
function isaOf(addon: Record<string, unknown> | undefined): string {
  const isaFn = addon?.directionIsa;
  if (typeof isaFn !== 'function') return 'unknown';
  try {
    return String((isaFn as () => string)());
  } catch (e) {
    return `unknown: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** The GPUs as the addon lists them, or undefined where it cannot say (no list function, or it threw). */
function addonGpus(addon: Record<string, unknown> | undefined): string[] | undefined {
  const list = addon?.cudaDeviceList;
  if (typeof list !== 'function') return undefined;
  try {
    return (list as () => { index: number; name: string; totalBytes: number }[])().map(
      (d) => `cuda:${d.index} ${d.name}, ${(d.totalBytes / 2 ** 30).toFixed(1)} GiB`,
    );
  } catch {
    return undefined;
  }
}

/**
 * The CPUs threads 0 runs on, as the addon's pool counts them (affinity mask and cgroup quota); without the addon (or
 * an older one) Node's count of the affinity mask, which does not know the quota.
 */
function usableCpusOf(addon: Record<string, unknown> | undefined): number {
  if (typeof addon?.usableCpus === 'function') {
    try {
      return (addon.usableCpus as () => number)();
    } catch {
      // fall through to Node's count
    }
  }
  return availableParallelism();
}

/** What collectEnv asks (tests stand in for the addon, nvidia-smi and the CPU counts). */
export interface EnvProbes {
  /** The loaded addon (default: nativeAddon()); an Error: it did not load. */
  addon?: Record<string, unknown> | Error;
  /** nvidia-smi's CSV lines, undefined when it cannot run (default: run it). */
  nvidiaSmi?: () => string | undefined;
}

export function collectEnv(probes: EnvProbes = {}): EnvReport {
  let addonFile: string | undefined;
  let addon: Record<string, unknown> | undefined;
  let addonRow: string;
  try {
    addonFile = resolveAddonPath();
    if (probes.addon instanceof Error) throw probes.addon;
    addon = probes.addon ?? (nativeAddon() as unknown as Record<string, unknown>);
    addonRow = addonFile;
  } catch (e) {
    addonRow = `not loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  const cpuList = cpus();
  const smi =
    probes.nvidiaSmi ?? (() => firstLine('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], (out) => out.trim()));
  const smiOut = smi();
  const driverGpus = smiOut ? smiOut.split('\n').map((l) => l.trim()) : [];
  // what dpzo can use is what the addon sees (CUDA_VISIBLE_DEVICES, a CPU-only build): nvidia-smi listed every GPU of
  // the machine, even to an addon that can use none of them
  const seen = addonGpus(addon);
  return {
    dpzo: packageVersion(),
    packageRoot,
    node: process.version,
    napi: process.versions.napi ?? 'unknown',
    os: `${type()} ${release()}`,
    platform: `${process.platform}-${process.arch}`,
    libc: libc(),
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    usableCpus: usableCpusOf(addon),
    addon: addonRow,
    backends: typeof addon?.backends === 'string' ? addon.backends : '',
    isa: isaOf(addon),
    blas: blasOf(addon, addonFile),
    gpus: seen ?? driverGpus,
    gpuSource: seen ? 'addon' : 'nvidia-smi',
    driverGpus,
    nvcc: firstLine('nvcc', ['--version'], (out) => out.match(/release ([^\s,]+)/)?.[1]) ?? 'not found',
    cmake: firstLine('cmake', ['--version'], (out) => out.match(/\d+\.\d+[.\w-]*/)?.[0]) ?? 'not found',
  };
}

/** The GPUs row: the addon's view (and why it is empty), or nvidia-smi's where the addon cannot say. */
function gpuRow(r: EnvReport): string {
  if (r.gpuSource === 'nvidia-smi')
    return r.gpus.length ? `${r.gpus.join('; ')} (nvidia-smi: the addon cannot list them)` : 'none (nvidia-smi not found or no GPU)';
  if (r.gpus.length) return r.gpus.join('; ');
  return r.backends.split(',').includes('cuda') ? 'none (the addon sees no CUDA device)' : 'none (the addon has no CUDA backend)';
}

export function register(program: Command): void {
  program
    .command('env')
    .description('print versions, the native addon and its backends, CPU, BLAS and GPUs (for bug reports)')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) => {
      const r = collectEnv();
      if (opts.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      printTable([
        ['dpzo', `${r.dpzo} (${r.packageRoot})`],
        ['node', `${r.node} (Node-API ${r.napi})`],
        ['os', `${r.os} ${r.platform} ${r.libc}`],
        // the machine's count alone: on a container or a taskset the threads run on fewer
        ['cpu', `${r.cpu} (${r.usableCpus === r.cores ? `${r.cores} logical cores` : `${r.usableCpus} usable of ${r.cores} logical cores`})`],
        ['addon', r.addon],
        ['backends', r.backends || 'none'],
        ['SIMD path', r.isa],
        ['BLAS', r.blas],
        ['GPUs seen', gpuRow(r)],
        ['nvidia-smi', r.driverGpus.length ? r.driverGpus.join('; ') : 'none (nvidia-smi not found or no GPU)'],
        ['nvcc', r.nvcc],
        ['cmake', r.cmake],
      ]);
    });
}
