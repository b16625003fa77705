// defines: listenForInterrupt — Ctrl-C (SIGINT) and SIGTERM turned into an AbortSignal for a long command (train,
// pretrain, export), so the work stops where it can stop cleanly instead of being killed by the default handler
// mid-write; afterwards the command exits 128 + the signal's number (130 / 143), as a killed process would.
// A second signal means "now": the signal's default action, after `onRepeat` (the command's own clean-up).
export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** 130 after SIGINT, 143 after SIGTERM (128 + the signal's number); undefined without a signal. */
  readonly exitCode: number | undefined;
  /** Removes the handlers: a signal after this one gets the default handler. */
  end(): void;
}

/** Options of {@link listenForInterrupt}. */
export interface InterruptOptions {
  /**
   * Called (synchronously) on a second signal, before the process is ended by it: what must not be left behind by a
   * command that is killed while it stops (the demo's temporary directory). Without it a second signal ends the
   * process as the default handler would.
   */
  onRepeat?: () => void;
}

export function listenForInterrupt(opts: InterruptOptions = {}): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const end = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  function onSignal(sig: NodeJS.Signals): void {
    if (received === undefined) {
      received = sig;
      controller.abort();
      return;
    }
    // the user asked twice: the clean-up only, then the signal's own action (with no listener left, the default)
    end();
    try {
      opts.onRepeat?.();
    } finally {
      process.kill(process.pid, sig);
    }
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === undefined ? undefined : received === 'SIGTERM' ? 143 : 130;
    },
    end,
  };
}
