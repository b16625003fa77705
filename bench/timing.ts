// defines: bestOf and bestOfEach — the time of an async operation as the benches report it: one
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
  const keys = Object.keys(fns) as K[];
  for (const k of keys) await fns[k]();
  const best = Object.fromEntries(keys.map((k) => [k, Infinity])) as Record<K, number>;
  for (let i = 0; i < n; i++)
    for (const k of keys) {
      const t0 = performance.now();
      await fns[k]();
      best[k] = Math.min(best[k], (performance.now() - t0) / 1000);
    }
  return best;
}
