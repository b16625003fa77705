// defines: createProgress — training progress on stderr: a cli-progress bar
// (step, loss, ε spent, ETA) on a TTY, plain lines otherwise (logs, CI).
import cliProgress from 'cli-progress';

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

export function createProgress(total: number, opts: { stream?: NodeJS.WriteStream; tty?: boolean; label?: string; lossLabel?: string } = {}): Progress {
  const lossLabel = opts.lossLabel ?? 'loss';
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const label = opts.label ?? 'train';
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} |{bar}| {value}/{total} | ${lossLabel} {loss} | ε {eps} | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { loss: '—', eps: '0' });
    return {
      update: (p) => bar.update(p.step + 1, { loss: fmt(p.loss), eps: fmt(p.epsilon, 3) }),
      note: (line) => {
        // cli-progress redraws on the current line: clear it, print, let the next update redraw
        stream.write(`\r\x1b[2K${line}\n`);
      },
      stop: () => bar.stop(),
    };
  }
  const t0 = performance.now();
  let lastPrint = -Infinity;
  let first: number | null = null;
  const every = Math.max(1, Math.floor(total / 20));
  return {
    update: (p) => {
      const now = performance.now();
      const doneSteps = p.step + 1;
      if (doneSteps % every !== 0 && doneSteps !== total && now - lastPrint < 10_000) return;
      lastPrint = now;
      first ??= p.step;
      const rate = (doneSteps - first) / ((now - t0) / 1000);
      stream.write(`${label} step ${doneSteps}/${total} ${lossLabel} ${fmt(p.loss)} ε ${fmt(p.epsilon, 3)} ETA ${eta((total - doneSteps) / rate)}\n`);
    },
    note: (line) => stream.write(line + '\n'),
    stop: () => undefined,
  };
}
