// defines: usableCpus — the CPUs this process may run on, counted as the native thread pool counts them for threads 0
// (native/core/thread_pool.cpp usable_cpus): the affinity mask (taskset, a container's cpuset), capped by a cgroup CPU
// quota (v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up; at least 1.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Where to look (tests): the cgroup file system's root and the affinity count. */
export interface UsableCpuProbes {
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** CPUs in the affinity mask (default os.availableParallelism(), which counts the mask on Linux). */
  affinity?: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** CPUs a cgroup quota allows, rounded up; 0 when there is no quota or it cannot be read (as the native pool). */
export function cgroupQuotaCpus(root = '/sys/fs/cgroup'): number {
  let quota: number;
  let period: number;
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== undefined) {
    const [q, p] = v2.split(/\s+/);
    if (q === 'max') return 0;
    quota = Number(q);
    period = Number(p);
  } else {
    quota = Number(read(join(root, 'cpu', 'cpu.cfs_quota_us')));
    period = Number(read(join(root, 'cpu', 'cpu.cfs_period_us')));
  }
  if (!(quota > 0) || !(period > 0)) return 0;
  return Math.min(1e6, Math.ceil(quota / period));
}

/** The CPUs this process may use: what `threads: 0` gives a model's pool (before its cap of 1024). */
export function usableCpus(probes: UsableCpuProbes = {}): number {
  let n = probes.affinity ?? availableParallelism();
  const quota = cgroupQuotaCpus(probes.cgroupRoot);
  if (quota > 0) n = n > 0 ? Math.min(n, quota) : quota;
  return Math.max(1, n);
}
