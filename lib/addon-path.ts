// Which native addon file to load. Order: DPZO_ADDON (explicit), a source build
// (build/Release, build/Debug: it may have CUDA or BLAS, which a prebuild has
// not), then the prebuilt CPU addon shipped in the tarball at
// prebuilds/<platform>-<arch>[-<libc>]/dpzo.node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DpzoError } from './errors.js';
import { packageRoot } from './package-info.js';

/** The C library on Linux: prebuilds for glibc do not load on musl (Alpine) and vice versa. */
export type Libc = 'glibc' | 'musl';

export interface AddonLookup {
  root?: string;
  env?: Record<string, string | undefined>;
  platform?: string;
  arch?: string;
  /** Asked only on Linux and only when no source build exists. */
  libc?: () => Libc;
  exists?: (path: string) => boolean;
}

/** The glibc version this process runs on (from the process report; undefined on musl and off Linux). */
export function glibcVersion(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

/** The C library this process runs on (asked on Linux only). */
export function detectLibc(): Libc {
  return glibcVersion() ? 'glibc' : 'musl';
}

/** The prebuild directory name: `linux-x64-glibc`, `darwin-arm64`, `win32-x64`. */
export function prebuildTag(platform: string, arch: string, libc?: Libc): string {
  return platform === 'linux' ? `${platform}-${arch}-${libc ?? 'glibc'}` : `${platform}-${arch}`;
}

function sourceBuilds(root: string): string[] {
  return [join(root, 'build', 'Release', 'dpzo.node'), join(root, 'build', 'Debug', 'dpzo.node')];
}

function prebuildPath(o: AddonLookup, root: string): string {
  const platform = o.platform ?? process.platform;
  const libc = platform === 'linux' ? (o.libc ?? detectLibc)() : undefined;
  return join(root, 'prebuilds', prebuildTag(platform, o.arch ?? process.arch, libc), 'dpzo.node');
}

/** Every place looked at, in order (the explicit DPZO_ADDON alone when it is set). */
export function addonCandidates(o: AddonLookup = {}): string[] {
  const explicit = (o.env ?? process.env).DPZO_ADDON;
  if (explicit) return [explicit];
  const root = o.root ?? packageRoot;
  return [...sourceBuilds(root), prebuildPath(o, root)];
}

/**
 * The addon file to `require`: DPZO_ADDON as given, else the first candidate
 * that exists. Throws ERR_ADDON naming the places looked at.
 */
export function resolveAddonPath(o: AddonLookup = {}): string {
  const explicit = (o.env ?? process.env).DPZO_ADDON;
  if (explicit) return explicit;
  const exists = o.exists ?? existsSync;
  const root = o.root ?? packageRoot;
  const built = sourceBuilds(root).find(exists);
  if (built) return built;
  // the libc is asked only now: the process report behind it costs tens of ms
  const prebuilt = prebuildPath(o, root);
  if (exists(prebuilt)) return prebuilt;
  throw new DpzoError('ERR_ADDON', `no native addon built or prebuilt for this platform (looked in ${[...sourceBuilds(root), prebuilt].join(', ')})`);
}
