// defines: finishedReport — the report a finished run recorded (the last line of its metrics file), which a resume returns
// instead of training: `dpzo train --resume` printed it, while the API's train({ resume }) replayed the whole trajectory,
// evaluated it again and returned numbers computed again (for a run stopped at its budget, the same next release
// refused again: both budgets are fixed and a ledger only grows).
import { infinityReviver } from '../io/json-infinity.js';
import { readJsonl } from '../io/jsonl.js';
import type { TrainReport } from './report.js';
import { type RunRecord, readRunJson } from './run-record.js';
import { type TrajectoryLine, readTrajectory } from './trajectory.js';

/**
 * The recorded report of a run that is finished: every planned step in its trajectory, or stopped at its budget (the run's,
 * or its training file's dataset budget), with the metrics file ending in that report. A trajectory complete without that
 * report (a crash after the last step), or one that holds other than the reported steps, is not finished: its resume
 * evaluates and writes the report it lacks. Reads only; `lines` are the trajectory's (the releases the report covers).
 * @param metricsFile The run's metrics (`dpzo train --metrics`, default the run directory's metrics.jsonl).
 */
export function finishedReport(runDir: string, metricsFile: string): { report: TrainReport; steps: number; lines: TrajectoryLine[] } | undefined {
  const run = readRunJson<RunRecord>(runDir);
  const trajectory = readTrajectory(runDir, run.plan.method);
  if (trajectory.torn) return undefined;
  const metrics = readJsonl(metricsFile);
  // a torn line after it (a crash mid-write) is cut by the resume, as before
  if (metrics.tornBytes > 0) return undefined;
  const last = metrics.lines.at(-1);
  if (last === undefined) return undefined;
  let rec: { type?: unknown; stopReason?: unknown; steps?: unknown } | null;
  try {
    rec = JSON.parse(last, infinityReviver) as { type?: unknown; stopReason?: unknown; steps?: unknown } | null;
  } catch {
    return undefined;
  }
  if (rec?.type !== 'report') return undefined;
  const finished =
    rec.stopReason === 'completed' ? trajectory.lines.length >= run.plan.steps : rec.stopReason === 'budget' && rec.steps === trajectory.lines.length;
  if (!finished) return undefined;
  const { type: _type, ...report } = rec;
  return { report: report as unknown as TrainReport, steps: run.plan.steps, lines: trajectory.lines };
}
