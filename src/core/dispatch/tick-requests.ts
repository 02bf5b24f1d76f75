/** What started a tick: the poll interval, a verified webhook delivery, `refresh`, or a run that ended. */
export type TickTrigger = 'poll' | 'webhook' | 'refresh' | 'run ended' | 'takeover';

export interface TickRequestOptions {
  /**
   * How long a webhook's request waits for others before its tick starts (default 25 ms): a card
   * move is two Planka deliveries and a new Gitea issue often three, and they make one tick.
   */
  coalesceMs?: number;
}

const DEFAULT_COALESCE_MS = 25;

/**
 * Requests for a tick now, shared by whoever asks (webhook receivers, `refresh`, the router's
 * run-ended events) and the loop that ticks. Requests that arrive before a tick starts are served
 * by that one tick; a request arriving while a tick runs gets the next one (the running tick may
 * have read the tracker before the change).
 */
export class TickRequests {
  private readonly coalesceMs: number;
  private pending: { trigger: TickTrigger; dueAt: number; waiters: Array<() => void> } | undefined;
  private wake: (() => void) | undefined;
  /** The latest tick's trigger and start (epoch ms). */
  last: { trigger: TickTrigger; at: number } | undefined;
  private readonly listeners = new Set<(last: { trigger: TickTrigger; at: number }) => void>();

  constructor(options: TickRequestOptions = {}) {
    this.coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
  }

  /** Asks for a tick now; resolves when it has started. A delivery never dispatches by itself: it only brings the tick forward. */
  request(trigger: Exclude<TickTrigger, 'poll'>): Promise<void> {
    return new Promise((resolve) => {
      const dueAt = Date.now() + (trigger === 'webhook' ? this.coalesceMs : 0);
      if (this.pending) {
        this.pending.dueAt = Math.min(this.pending.dueAt, dueAt);
        this.pending.waiters.push(resolve);
      } else {
        this.pending = { trigger, dueAt, waiters: [resolve] };
      }
      this.wake?.();
    });
  }

  /**
   * Waits `ms`, or less when a tick is asked for (then until the request's coalescing window and
   * `notBefore` have passed), or until `signal` aborts. Says what ended the wait.
   */
  wait(ms: number, signal: AbortSignal, notBefore = 0): Promise<TickTrigger | 'stop'> {
    return new Promise((resolve) => {
      const pollAt = Date.now() + ms;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: TickTrigger | 'stop') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.wake === schedule) this.wake = undefined;
        resolve(outcome);
      };
      const onAbort = () => finish('stop');
      const schedule = () => {
        clearTimeout(timer);
        const requested = this.pending;
        const at = requested ? Math.min(pollAt, Math.max(requested.dueAt, notBefore)) : pollAt;
        timer = setTimeout(() => finish(requested && at < pollAt ? requested.trigger : 'poll'), Math.max(0, at - Date.now()));
      };
      if (signal.aborted) return finish('stop');
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = schedule;
      schedule();
    });
  }

  /** A tick starts: every request so far is served by it. */
  started(trigger: TickTrigger): void {
    const served = this.pending;
    this.pending = undefined;
    this.last = { trigger: served?.trigger ?? trigger, at: Date.now() };
    for (const resolve of served?.waiters ?? []) resolve();
    for (const listener of this.listeners) listener(this.last);
  }

  onTick(listener: (last: { trigger: TickTrigger; at: number }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
