import { backoffDelay } from '../../util/backoff.ts';

/** The longest a task whose claims keep failing waits between two attempts (or one poll interval, if longer). */
export const CLAIM_BACKOFF_MAX_MS = 10 * 60_000;

/** Where a task whose claim failed stands: how many failures in a row, and when it may be tried again. */
export interface HeldTask {
  failures: number;
  /** Epoch ms: not claimed again before this. */
  until: number;
  /** The wait that led to `until`: a warning is due when it grows, not at every attempt. */
  delayMs: number;
}

/**
 * Tasks whose claim the tracker refused, held back per task: the first failure until the next poll,
 * then twice as long each time, up to {@link CLAIM_BACKOFF_MAX_MS}. The wait counts from the start
 * of the poll that offered the task, so "until the next poll" is the next poll, not the one after.
 */
export class ClaimBackoff {
  readonly #held = new Map<string, HeldTask>();

  constructor(private readonly pollIntervalMs: number) {}

  /** Records a failed claim of a task offered by the poll that began at `polledAt`; returns where it stands now. */
  failed(taskId: string, polledAt: number): HeldTask & { grew: boolean } {
    const failures = (this.#held.get(taskId)?.failures ?? 0) + 1;
    const previous = this.#held.get(taskId)?.delayMs;
    const delayMs = backoffDelay(failures, this.pollIntervalMs, Math.max(this.pollIntervalMs, CLAIM_BACKOFF_MAX_MS));
    const held = { failures, until: polledAt + delayMs, delayMs };
    this.#held.set(taskId, held);
    return { ...held, grew: delayMs !== previous };
  }

  /** A claim went through: the task starts afresh. Returns how many failures it had. */
  claimed(taskId: string): number {
    const failures = this.#held.get(taskId)?.failures ?? 0;
    this.#held.delete(taskId);
    return failures;
  }

  isHeld(taskId: string, now: number): boolean {
    return (this.#held.get(taskId)?.until ?? 0) > now;
  }

  /** Forgets tasks a poll no longer offers (done, moved, deleted): the map holds only what may come back. */
  keepOnly(offered: ReadonlySet<string>): void {
    for (const taskId of this.#held.keys()) if (!offered.has(taskId)) this.#held.delete(taskId);
  }

  /** Tasks held back now, for `status`. */
  held(now: number): Array<{ taskId: string } & HeldTask> {
    return [...this.#held].filter(([, held]) => held.until > now).map(([taskId, held]) => ({ taskId, ...held }));
  }
}
