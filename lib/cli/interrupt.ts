// defines: listenForInterrupt — Ctrl-C (SIGINT) and SIGTERM turned into an AbortSignal for a long command (train,
// pretrain, export), so the work stops where it can stop cleanly instead of being killed by the default handler
// mid-write; afterwards the command exits 128 + the signal's number (130 / 143), as a killed process would.
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

export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    received = sig;
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === undefined ? undefined : received === 'SIGTERM' ? 143 : 130;
    },
    end() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
