// The progress lines of `dpzo train` without a terminal (a log file, CI) are persisted: like the
// metrics they must carry nothing per step that is a function of wall-clock time (docs/privacy.md,
// "Timing": a step's duration grows with the tokens of its Poisson batch). The live bar on a
// terminal may show an ETA; the lines may not, and which steps get a line may not depend on time.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createProgress } from '../../../lib/cli/progress.js';

/** The non-TTY lines of `steps` steps whose durations (ms) are `durations`. */
function lines(steps: number, durations: number[]): string[] {
  let now = 1000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  const out: string[] = [];
  const stream = { write: (s: string) => out.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
  const progress = createProgress(steps, { stream, tty: false, lossLabel: 'held-out loss' });
  for (let t = 0; t < steps; t++) {
    now += durations[t]!;
    progress.update({ step: t, steps, loss: 0.5, epsilon: 0.1 * (t + 1) });
  }
  progress.stop();
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('progress lines without a terminal', () => {
  it('carry no ETA or other function of the step times: two runs with different step durations print the same lines', () => {
    const steps = 40;
    // a long example sampled at steps 7 and 23 makes those steps slow (and one step takes over 10 s)
    const fast = Array.from({ length: steps }, () => 30);
    const slow = fast.map((d, t) => (t === 7 || t === 23 ? 12_000 : d));
    const a = lines(steps, fast);
    const b = lines(steps, slow);
    expect(a.length).toBeGreaterThan(0);
    for (const l of [...a, ...b]) expect(l).not.toMatch(/ETA|\d+s\b|\d+m\d+s/);
    expect(b).toEqual(a);
  });

  it('still says how far the run is and the ε spent', () => {
    const out = lines(
      20,
      Array.from({ length: 20 }, () => 50),
    );
    expect(out.at(-1)).toMatch(/^train step 20\/20 held-out loss 0\.5000 ε 2\.00\n$/);
  });
});
