import { isProcessGroupAlive, MAX_TIMER_MS, terminateProcessGroup } from './process-group.ts';

export interface ForeignGroupOptions {
  /** Epoch ms after which the group is stopped (TERM → grace → KILL). undefined: no limit. */
  deadline?: number;
  /** After SIGTERM, how long the group gets before SIGKILL. */
  killGraceMs: number;
  /** How often liveness is checked, in ms (default 1000). */
  pollMs?: number;
}

export interface ForeignGroupOutcome {
  /**
   * gone: the group ended by itself; timed_out: the deadline passed and it was stopped;
   * stopped: stop() ended it; unwatched: unwatch() was called while it still ran.
   */
  kind: 'gone' | 'timed_out' | 'stopped' | 'unwatched';
  /** SIGKILL was needed. */
  killed: boolean;
}

export interface ForeignGroupWatch {
  done: Promise<ForeignGroupOutcome>;
  /** Ends the group now (TERM → grace → KILL); resolves with `done`. */
  stop(): Promise<ForeignGroupOutcome>;
  /** Stops watching and leaves the group running; `done` resolves with kind `unwatched`. */
  unwatch(): void;
}

/**
 * Watches a process group this process did not start (an agent adopted from an earlier dispatcher
 * after a restart). It is not our child, so there is no exit event and no exit code: liveness is
 * polled, and the deadline is enforced with TERM → grace → KILL to the whole group.
 */
export function watchForeignGroup(pgid: number, options: ForeignGroupOptions): ForeignGroupWatch {
  const pollMs = options.pollMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let terminating = false;
  let settle!: (outcome: ForeignGroupOutcome) => void;
  const done = new Promise<ForeignGroupOutcome>((resolve) => {
    settle = resolve;
  });
  let settled = false;

  function finish(outcome: ForeignGroupOutcome): void {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    settle(outcome);
  }

  function terminate(kind: 'timed_out' | 'stopped'): void {
    if (settled || terminating) return;
    terminating = true;
    clearTimeout(timer);
    terminateProcessGroup(pgid, { graceMs: options.killGraceMs }).then(
      (result) => finish({ kind, killed: result.killed }),
      () => finish({ kind, killed: false }),
    );
  }

  function check(): void {
    if (settled || terminating) return;
    if (!isProcessGroupAlive(pgid)) return finish({ kind: 'gone', killed: false });
    const now = Date.now();
    if (options.deadline !== undefined && now >= options.deadline) return terminate('timed_out');
    const untilDeadline = options.deadline === undefined ? pollMs : options.deadline - now;
    timer = setTimeout(check, Math.min(pollMs, untilDeadline, MAX_TIMER_MS));
  }

  check();
  return {
    done,
    stop() {
      terminate('stopped');
      return done;
    },
    unwatch() {
      if (!terminating) finish({ kind: 'unwatched', killed: false });
    },
  };
}
