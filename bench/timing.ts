// defines: bestOf, bestOfEach and timeEach — the time of an async operation as the benches report it: one
// warm-up call (arena allocation, page faults), then the best of n (the machine may
// be shared; the minimum is the code's cost), in seconds.
export async function bestOf(fn: () => Promise<unknown>, n: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return Math.min(...t);
}

/**
 * bestOf for several operations whose times are compared with each other: one warm-up call of each, then
 * n rounds that run each once in turn, the best of its n per operation. On a shared machine the load moves
 * between seconds; blocks of one operation after another put that drift into the ratios, rounds spread it
 * over all of them alike.
 */
export async function bestOfEach<K extends string>(fns: Record<K, () => Promise<unknown>>, n: number): Promise<Record<K, number>> {
  const t = await timeEach(fns, n);
  return Object.fromEntries(Object.keys(t).map((k) => [k, t[k as K].wall])) as Record<K, number>;
}

/** One operation's times from {@link timeEach}: the best of n (wall and process CPU) and every round's. */
export interface Timed {
  wall: number;
  cpu: number;
  /** Round i's wall and CPU time: the i-th of each operation ran back to back, so ratios of the i-th are paired. */
  walls: number[];
  cpus: number[];
}

/**
 * bestOfEach with each operation's process CPU time too (`process.cpuUsage`, all threads; the best of n,
 * taken separately from the wall time). The host's neighbours move wall time by several percent between
 * calls; the CPU time of the same work moves less, and a ratio of two operations' CPU times shows the work
 * one adds (a stall on another thread shows in the wall time only).
 */
export async function timeEach<K extends string>(fns: Record<K, () => Promise<unknown>>, n: number): Promise<Record<K, Timed>> {
  const keys = Object.keys(fns) as K[];
  for (const k of keys) await fns[k]();
  const out = Object.fromEntries(keys.map((k): [K, Timed] => [k, { wall: Infinity, cpu: Infinity, walls: [], cpus: [] }])) as Record<K, Timed>;
  for (let i = 0; i < n; i++)
    for (const k of keys) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fns[k]();
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      const o = out[k];
      o.walls.push(wall);
      o.cpus.push(cpu);
      o.wall = Math.min(o.wall, wall);
      o.cpu = Math.min(o.cpu, cpu);
    }
  return out;
}

/**
 * The ratio a/b round by round (a[i] / b[i]), as its median and quartiles. Two operations timed in the same
 * round share that moment's load, so their ratio cancels the host's drift that separate minima keep; the
 * median of many such ratios is the cost of a against b that a noisy host moves least.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): { median: number; q1: number; q3: number; n: number } {
  if (a.length !== b.length || a.length === 0) throw new RangeError('pairedRatio needs two equally long, non-empty series');
  const r = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
  // linear interpolation between order statistics (the usual "type 7" quantile)
  const q = (p: number) => {
    const h = (r.length - 1) * p,
      lo = Math.floor(h);
    return r[lo]! + (h - lo) * ((r[Math.min(lo + 1, r.length - 1)] ?? r[lo]!) - r[lo]!);
  };
  return { median: q(0.5), q1: q(0.25), q3: q(0.75), n: r.length };
}
