// defines: bestOf — the time of an async operation as the benches report it: one
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
