import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { withFileLock } from '../../util/file-lock.ts';

/**
 * At most `ratePerMinute` dispatches per minute, remembered in a file so that a restart (or a cron
 * run a second later) does not start a fresh allowance. A sliding window: `capacity` dispatches
 * (the rate rounded down, at least 1) in any `capacity / rate` minutes. Rate 1 is the reference's
 * hard limit: one dispatch, then a full minute of nothing. Rate 0.5 is one every two minutes.
 */
export interface RateLimitOptions {
  /** The state file, e.g. `<state_dir>/dispatch-file-rate.json`. */
  file: string;
  ratePerMinute: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /** Told when the state file is unreadable and the limiter assumes a full window. */
  onCorrupt?: (message: string) => void;
}

export interface RateLimitStatus {
  ratePerMinute: number;
  capacity: number;
  windowMs: number;
  /** Dispatches allowed right now. */
  available: number;
  /** When the next dispatch is allowed (epoch ms); now when `available` > 0. */
  nextSlotAt: number;
}

/** Dispatches made at one moment (epoch ms). */
export interface RateEvent {
  at: number;
  count: number;
}

interface StateFile {
  version: 1;
  events: RateEvent[];
}

export interface RateLimiter {
  status(): Promise<RateLimitStatus>;
  /**
   * Reserves up to `wanted` dispatches under the file lock and records them before `work` runs, so a
   * crash can only waste slots, never exceed the rate. `work` gets the number granted and returns
   * how many it used; the unused ones are given back.
   *
   * `since`: the time the dispatches are recorded at, when earlier than now — the start of the poll
   * that makes them. Cron starts a poll every 60 s, but the files are written a moment into each
   * run; counted from the poll's start, a run 60 s later always finds the window passed. At most
   * 5 s back, so two dispatches are never closer than the window less 5 s.
   */
  reserve<T extends { used: number }>(wanted: number, work: (granted: number) => Promise<T>, since?: number): Promise<T & { granted: number }>;
}

const MAX_BACKDATE_MS = 5_000;

export function rateWindow(ratePerMinute: number): { capacity: number; windowMs: number } {
  if (!(ratePerMinute > 0)) throw new RangeError(`rate must be above 0, got ${ratePerMinute}`);
  const capacity = Math.max(1, Math.floor(ratePerMinute));
  return { capacity, windowMs: Math.round((capacity * 60_000) / ratePerMinute) };
}

/** The window's dispatches still counting at `at` (oldest first), and what they leave. */
export function measureWindow(events: RateEvent[], at: number, ratePerMinute: number): { live: RateEvent[]; status: RateLimitStatus } {
  const { capacity, windowMs } = rateWindow(ratePerMinute);
  const live = events.filter((event) => event.at > at - windowMs).sort((a, b) => a.at - b.at);
  const used = live.reduce((sum, event) => sum + event.count, 0);
  const available = Math.max(0, capacity - used);
  let nextSlotAt = at;
  if (available === 0) {
    // The slot frees when enough of the oldest dispatches leave the window.
    let excess = used - capacity + 1;
    for (const event of live) {
      excess -= event.count;
      nextSlotAt = event.at + windowMs;
      if (excess <= 0) break;
    }
  }
  return { live, status: { ratePerMinute, capacity, windowMs, available, nextSlotAt } };
}

/** When dispatches granted at `at` are recorded: the poll's start, at most a few seconds back (see `reserve`). */
export function recordTime(at: number, since: number | undefined, windowMs: number): number {
  return Math.min(at, Math.max(since ?? at, at - Math.min(MAX_BACKDATE_MS, windowMs / 2)));
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const { capacity, windowMs } = rateWindow(options.ratePerMinute);
  const measure = (events: RateEvent[], at: number) => measureWindow(events, at, options.ratePerMinute);

  async function load(at: number): Promise<RateEvent[]> {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    try {
      const state = JSON.parse(text) as StateFile;
      if (!Array.isArray(state.events)) throw new Error('no events');
      return state.events
        .filter((event) => Number.isFinite(event?.at) && Number.isInteger(event?.count) && event.count > 0)
        // A clock that went back must not stretch the wait beyond one window.
        .map((event) => ({ at: Math.min(event.at, at), count: event.count }));
    } catch {
      options.onCorrupt?.(`rate limit state ${options.file} is unreadable; waiting one full window before the next dispatch`);
      return [{ at, count: capacity }];
    }
  }

  const save = (events: RateEvent[]) => writeFileAtomic(options.file, `${JSON.stringify({ version: 1, events } satisfies StateFile)}\n`);

  return {
    async status() {
      const at = now();
      return measure(await load(at), at).status;
    },
    async reserve(wanted, work, since) {
      return withFileLock(options.file, async () => {
        const at = now();
        const { live, status } = measure(await load(at), at);
        const granted = Math.max(0, Math.min(Math.floor(wanted), status.available));
        // At most a few seconds back: a slow poll must not make its dispatches count for less.
        const recordAt = recordTime(at, since, windowMs);
        if (granted > 0) await save([...live, { at: recordAt, count: granted }]);
        const result = await work(granted);
        const used = Math.max(0, Math.min(granted, result.used));
        if (used !== granted) await save(used > 0 ? [...live, { at: recordAt, count: used }] : live);
        return { ...result, granted };
      });
    },
  };
}
