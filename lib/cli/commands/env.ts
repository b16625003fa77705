// `dpzo env`: what a bug report needs (as `accelerate env`): versions, the
// addon file and its compiled backends, the CPU and its SIMD path, BLAS, the
// GPUs the driver sees and the toolchain a source build would use. Every probe
// that fails says so in its row; the command itself always succeeds.
import { spawnSync } from 'node:child_process';
import { cpus, release, type } from 'node:os';
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
  cores: number;
  addon: string;
  /** Comma-separated, e.g. "cpu" or "cpu,cuda"; "" when the addon does not load. */
  backends: string;
  isa: string;
  blas: string;
  gpus: string[];
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

export function collectEnv(): EnvReport {
  let addonFile: string | undefined;
  let addon: Record<string, unknown> | undefined;
  let addonRow: string;
  try {
    addonFile = resolveAddonPath();
    addon = nativeAddon() as unknown as Record<string, unknown>;
    addonRow = addonFile;
  } catch (e) {
    addonRow = `not loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  const cpuList = cpus();
  const gpus = firstLine('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], (out) => out.trim());
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
    addon: addonRow,
    backends: typeof addon?.backends === 'string' ? addon.backends : '',
    isa: isaOf(addon),
    blas: blasOf(addon, addonFile),
    gpus: gpus ? gpus.split('\n').map((l) => l.trim()) : [],
    nvcc: firstLine('nvcc', ['--version'], (out) => out.match(/release ([^\s,]+)/)?.[1]) ?? 'not found',
    cmake: firstLine('cmake', ['--version'], (out) => out.match(/\d+\.\d+[.\w-]*/)?.[0]) ?? 'not found',
  };
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
        ['cpu', `${r.cpu} (${r.cores} logical cores)`],
        ['addon', r.addon],
        ['backends', r.backends || 'none'],
        ['SIMD path', r.isa],
        ['BLAS', r.blas],
        ['GPUs seen', r.gpus.length ? r.gpus.join('; ') : 'none (nvidia-smi not found or no GPU)'],
        ['nvcc', r.nvcc],
        ['cmake', r.cmake],
      ]);
    });
}
