import { backoffDelay } from '../../util/backoff.ts';
import { DatabaseError } from '../../errors.ts';
import type { CycleResult } from './cycle.ts';
import { icons, type DispatchLog } from './log-lines.ts';
import type { DispatchStateStore } from './state.ts';
import type { TickRequests, TickTrigger } from '../dispatch/tick-requests.ts';

/**
 * Runs cycles until the signal aborts (or once). When nothing can be read from the tracker the
 * wait grows exponentially up to a cap, and the first good cycle after that says so.
 */
export interface LoopOptions {
  once: boolean;
  signal: AbortSignal;
  intervalMs: number;
  runCycle: () => Promise<CycleResult>;
  state: DispatchStateStore;
  log: DispatchLog;
  now: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** First wait after a failed cycle and the longest (defaults: min(interval, 15 s) and max(interval, 10 min)). */
  backoff?: { baseMs: number; maxMs: number };
  /** Webhook deliveries ask for a cycle now through these: the wait ends early (the rate limit still holds files back). */
  requests?: TickRequests;
}

export interface LoopTotals {
  cycles: number;
  dispatched: number;
  errors: number;
  /** The last cycle's result, when it finished. */
  last?: CycleResult;
  /** What the last cycle threw, when it did not finish (the [coordination] database unreachable, say). */
  lastError?: unknown;
}

/** Never waits less than this for a rate-limit slot, so a slot that cannot be used does not spin. */
const MIN_WAIT_MS = 250;

export async function runDispatchLoop(options: LoopOptions): Promise<LoopTotals> {
  const sleep = options.sleep ?? abortableSleep;
  const baseMs = options.backoff?.baseMs ?? Math.min(options.intervalMs, 15_000);
  const maxMs = options.backoff?.maxMs ?? Math.max(options.intervalMs, 600_000);
  const totals: LoopTotals = { cycles: 0, dispatched: 0, errors: 0 };
  let failures = 0;
  let databaseFailed = false;
  let trigger: TickTrigger | 'stop' = 'poll';

  while (!options.signal.aborted && trigger !== 'stop') {
    const cycleStartedAt = Date.now();
    options.requests?.started(trigger);
    let result: CycleResult | undefined;
    let failure: string | undefined;
    try {
      result = await options.runCycle();
      totals.last = result;
      totals.lastError = undefined;
      totals.dispatched += result.dispatched;
      totals.errors += result.errors;
      if (result.trackerDown) {
        failure = result.lastError ?? 'the tracker could not be read';
        databaseFailed = false;
      }
    } catch (error) {
      totals.errors++;
      totals.last = undefined;
      totals.lastError = error;
      databaseFailed = error instanceof DatabaseError;
      failure = (error as Error).message;
      options.log.line(`${icons.error} ${failure}`);
    }
    totals.cycles++;

    if (failure !== undefined) {
      failures++;
      options.state.update((draft) => {
        draft.tracker = { ...draft.tracker, status: 'down', consecutiveFailures: failures, lastError: failure };
      });
    } else {
      if (failures > 0) options.log.line(`${icons.recovered} the ${databaseFailed ? 'database' : 'tracker'} answers again after ${failures} failed ${failures === 1 ? 'poll' : 'polls'}`);
      databaseFailed = false;
      failures = 0;
      const degraded = result !== undefined && result.failedRepos > 0;
      options.state.update((draft) => {
        draft.tracker = {
          status: degraded ? 'degraded' : 'ok',
          consecutiveFailures: 0,
          lastOkAt: new Date(options.now()).toISOString(),
          ...(degraded ? { lastError: result?.lastError } : {}),
        };
      });
    }
    if (options.once || options.signal.aborted) break;

    let delay = options.intervalMs;
    if (failure !== undefined) {
      delay = backoffDelay(failures, baseMs, maxMs);
      options.log.line(`${icons.error} ${failures} failed ${failures === 1 ? 'poll' : 'polls'} in a row; next try in ${formatDuration(delay)}`);
    } else if (result && result.waiting > 0 && result.rate.available === 0) {
      delay = Math.min(options.intervalMs, Math.max(MIN_WAIT_MS, result.rate.nextSlotAt - options.now()));
    }
    const nextPollAt = new Date(options.now() + delay).toISOString();
    options.state.update((draft) => {
      draft.nextPollAt = nextPollAt;
    });
    // A requested cycle comes at once, but never sooner than MIN_WAIT_MS after the last one began.
    if (options.requests) trigger = await options.requests.wait(delay, options.signal, cycleStartedAt + MIN_WAIT_MS);
    else await sleep(delay, options.signal);
  }
  options.state.update((draft) => {
    draft.nextPollAt = undefined;
  });
  return totals;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
