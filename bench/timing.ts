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

/**
 * bestOfEach with each operation's process CPU time too (`process.cpuUsage`, all threads; the best of n,
 * taken separately from the wall time). The host's neighbours move wall time by several percent between
 * calls; the CPU time of the same work moves less, and a ratio of two operations' CPU times shows the work
 * one adds (a stall on another thread shows in the wall time only).
 */
export async function timeEach<K extends string>(fns: Record<K, () => Promise<unknown>>, n: number): Promise<Record<K, { wall: number; cpu: number }>> {
  const keys = Object.keys(fns) as K[];
  for (const k of keys) await fns[k]();
  const best = Object.fromEntries(keys.map((k) => [k, { wall: Infinity, cpu: Infinity }])) as Record<K, { wall: number; cpu: number }>;
  for (let i = 0; i < n; i++)
    for (const k of keys) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fns[k]();
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      best[k].wall = Math.min(best[k].wall, wall);
      best[k].cpu = Math.min(best[k].cpu, (c.user + c.system) / 1e6);
    }
  return best;
}
