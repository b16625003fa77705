// defines: signalOnMetrics — sends `signal` to a child `dpzo train` once its run's metrics.jsonl satisfies
// `until` (polled every 20 ms), for the tests that interrupt or crash a run at a chosen point.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Starts the watch; stop it when the child closes. */
export function signalOnMetrics(child: ChildProcess, runDir: string, until: (metrics: string) => boolean, signal: NodeJS.Signals): () => void {
  const metrics = join(runDir, 'metrics.jsonl');
  const timer = setInterval(() => {
    if (existsSync(metrics) && until(readFileSync(metrics, 'utf8'))) {
      clearInterval(timer);
      child.kill(signal);
    }
  }, 20);
  return () => clearInterval(timer);
}
