/**
 * The daemons' two-stage stop: the first SIGINT/SIGTERM aborts `signal` (stop polling, drain);
 * the second runs the `onForce` cleanups and then `forceExit` — which src/cli.ts supplies, since
 * only it decides exit codes.
 */
export interface StopSignals {
  signal: AbortSignal;
  /** Registers something to do before a forced exit (leave agents to the next start). */
  onForce(cleanup: () => Promise<void> | void): void;
  /** What the first signal was, for the log line. */
  readonly received?: NodeJS.Signals;
  dispose(): void;
}

export function listenForStop(forceExit: () => void, onFirst?: (signal: NodeJS.Signals) => void): StopSignals {
  const controller = new AbortController();
  const cleanups: Array<() => Promise<void> | void> = [];
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      received = signal;
      onFirst?.(signal);
      controller.abort();
      return;
    }
    // The last resort if a cleanup hangs.
    setTimeout(forceExit, 3000).unref();
    void Promise.allSettled(cleanups.map((cleanup) => cleanup())).finally(forceExit);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    onForce: (cleanup) => void cleanups.push(cleanup),
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
