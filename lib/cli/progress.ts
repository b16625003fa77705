// defines: createProgress — training progress on stderr: a one-line bar
// (step, loss, ε spent, ETA) on a TTY, plain lines otherwise (logs, CI). The
// plain lines are persisted (a log file, a CI log): like the metrics they carry
// nothing that is a function of the step times (docs/privacy.md, "Timing") —
// no ETA, and a line every total/20 steps, never "every 10 s" — unless the
// work is on public data (`timed`, e.g. pretraining).

export interface ProgressLine {
  step: number;
  steps: number;
  /** Shown under the label given to createProgress; NaN shows as —. */
  loss: number;
  epsilon: number;
}

export interface Progress {
  update(p: ProgressLine): void;
  /** A line printed above the bar (or as is without a TTY). */
  note(line: string): void;
  stop(): void;
}

function fmt(x: number, digits = 4): string {
  if (x === Infinity) return '∞';
  return Number.isFinite(x) ? x.toPrecision(digits) : '—';
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

export function createProgress(
  total: number,
  opts: {
    stream?: NodeJS.WriteStream;
    tty?: boolean;
    label?: string;
    lossLabel?: string;
    /** Show ε spent (default true; false for non-private work). */ epsilon?: boolean;
    /**
     * Plain lines (no TTY) may depend on wall-clock time: an ETA, and a line at least every 10 s (default false).
     * Only for work on public data: a private step's duration reveals its batch, and the lines are persisted.
     */
    timed?: boolean;
  } = {},
): Progress {
  const showEps = opts.epsilon ?? true;
  const lossLabel = opts.lossLabel ?? 'loss';
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const label = opts.label ?? 'train';
  if (tty) return ttyBar(total, stream, label, lossLabel, showEps);
  const timed = opts.timed === true;
  const t0 = performance.now();
  let lastPrint = -Infinity;
  let first: number | null = null;
  const every = Math.max(1, Math.floor(total / 20));
  return {
    update: (p) => {
      const now = performance.now();
      const doneSteps = p.step + 1;
      // which steps get a line is public (the step count) unless the work is timed
      if (doneSteps % every !== 0 && doneSteps !== total && !(timed && now - lastPrint >= 10_000)) return;
      lastPrint = now;
      first ??= p.step;
      const rate = (doneSteps - first) / ((now - t0) / 1000);
      stream.write(
        `${label} step ${doneSteps}/${total} ${lossLabel} ${fmt(p.loss)}${showEps ? ` ε ${fmt(p.epsilon, 3)}` : ''}${timed ? ` ETA ${eta((total - doneSteps) / rate)}` : ''}\n`,
      );
    },
    note: (line) => stream.write(line + '\n'),
    stop: () => undefined,
  };
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

// The bar on a terminal. It only ever rewrites its own line (CR, erase line),
// never saves and restores a cursor position: cli-progress's SingleBar restored
// the position saved before the plan was printed, so the summary overwrote the
// plan, and its MultiBar did not redraw an unchanged bar after a logged line
// (issue 16.3; test/native/dpzo/cli-tty.test.ts replays the bytes).
function ttyBar(total: number, stream: NodeJS.WriteStream, label: string, lossLabel: string, showEps: boolean): Progress {
  const t0 = performance.now();
  let done = 0;
  let first: number | null = null;
  let loss = NaN;
  let epsilon = NaN;
  let lastDraw = -Infinity;
  let stopped = false;
  const line = (): string => {
    const filled = total > 0 ? Math.round((BAR_WIDTH * done) / total) : BAR_WIDTH;
    const rate = first === null ? NaN : (done - first) / ((performance.now() - t0) / 1000);
    const text = `${label} |${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}| ${done}/${total} | ${lossLabel} ${fmt(loss)}${showEps ? ` | ε ${fmt(epsilon, 3)}` : ''} | ETA ${done === total ? '0s' : eta((total - done) / rate)}`;
    // a line longer than the terminal wraps, and erasing one line then leaves the rest behind
    const columns = stream.columns > 1 ? stream.columns - 1 : Infinity;
    return Array.from(text).slice(0, columns).join('');
  };
  const draw = (): void => {
    lastDraw = performance.now();
    stream.write(`\r\x1b[2K${line()}`);
  };
  draw();
  return {
    update: (p) => {
      done = p.step + 1;
      first ??= p.step;
      loss = p.loss;
      epsilon = p.epsilon;
      if (done === total || performance.now() - lastDraw >= REDRAW_MS) draw();
    },
    note: (text) => {
      if (stopped) {
        stream.write(text + '\n');
        return;
      }
      stream.write(`\r\x1b[2K${text}\n`);
      draw();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      draw();
      stream.write('\n');
    },
  };
}
