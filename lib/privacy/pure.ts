// defines: pureEpsilon — pure ε-DP of Laplace releases: ε0 = C/b per step, amplified by Poisson sampling to
// ε' = log(1 + q(e^{ε0} − 1)) (Balle, Barthe, Gaboardi 2018, Thm. 8), summed by basic composition (Dwork et al. 2006).

import { checkSteps } from './errors.js';
import { checkMechanism, laplacePureEpsilon, type HistoryEntry } from './mechanism.js';

/** Total pure ε of a history, or Infinity when it holds a Gaussian release (no pure-DP guarantee). */
export function pureEpsilon(history: readonly HistoryEntry[]): number {
  let total = 0;
  for (const h of history) {
    const m = checkMechanism(h.mechanism);
    const t = checkSteps(h.times, 'times');
    if (t === 0) continue;
    if (m.kind !== 'laplace') return Infinity;
    total += t * laplacePureEpsilon(m);
  }
  return total;
}

/** Pure ε of `steps` Laplace releases with sampling rate q, L1 sensitivity C and scale b. */
export function laplacePureDp(o: { sampleRate: number; clip: number; scale: number; steps: number }): number {
  return pureEpsilon([{ mechanism: { kind: 'laplace', sampleRate: o.sampleRate, clip: o.clip, scale: o.scale }, times: o.steps }]);
}
