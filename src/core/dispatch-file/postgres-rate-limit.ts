import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { DispatchFilePool } from './postgres-pool.ts';
import { measureWindow, rateWindow, recordTime, type RateEvent, type RateLimiter, type RateLimitStatus } from './rate-limit.ts';

/**
 * The rate limit in PostgreSQL ([coordination]): one row per tracker in `dispatcher_file_rate`
 * holding the window's dispatches, so every host running dispatch-file against the tracker shares
 * one allowance. Same sliding window as the file (rate-limit.ts), on the database's clock: hosts
 * whose clocks disagree still count one window.
 *
 * `reserve` takes the row (`select … for update`), records the grant and commits before the files
 * are written, so a host dying mid-write can only waste slots; unused slots are given back after.
 */
export interface PostgresRateLimitOptions {
  pool: DispatchFilePool;
  /** The tracker's key: hosts with the same key share the allowance. */
  tracker: string;
  ratePerMinute: number;
  /** This process's clock (epoch ms): `nextSlotAt` is given in it, `since` read in it. */
  now?: () => number;
}

interface StoredEvent extends RateEvent {
  /** Which grant this is, so the unused part can be given back. */
  id: string;
}

const DATABASE_NOW = `(extract(epoch from clock_timestamp()) * 1000)::float8`;

export function createPostgresRateLimiter(options: PostgresRateLimitOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const { windowMs } = rateWindow(options.ratePerMinute);

  /** The row's events and the database's time, with the offset from this process's clock. */
  async function read(query: DispatchFilePool['query'], lock: boolean): Promise<{ events: StoredEvent[]; at: number; offset: number }> {
    const local = now();
    const { rows } = await query<{ events: StoredEvent[] | null; at: number }>(
      `select (select events from dispatcher_file_rate where tracker = $1${lock ? ' for update' : ''}) as events, ${DATABASE_NOW} as at`,
      [options.tracker],
    );
    const at = Number(rows[0].at);
    const events = (rows[0].events ?? []).filter((event) => Number.isFinite(event?.at) && Number.isInteger(event?.count) && event.count > 0);
    return { events, at, offset: at - local };
  }

  const local = (status: RateLimitStatus, offset: number): RateLimitStatus => ({ ...status, nextSlotAt: status.nextSlotAt - offset });

  async function save(client: pg.PoolClient, events: StoredEvent[]): Promise<void> {
    await client.query(
      `insert into dispatcher_file_rate (tracker, events) values ($1, $2::jsonb) on conflict (tracker) do update set events = excluded.events`,
      [options.tracker, JSON.stringify(events)],
    );
  }

  return {
    async status() {
      const { events, at, offset } = await read(options.pool.query, false);
      return local(measureWindow(events, at, options.ratePerMinute).status, offset);
    },
    async reserve(wanted, work, since) {
      const id = randomUUID();
      const grant = await options.pool.transaction(async (client) => {
        // The row must exist to be locked: two hosts starting on an empty table wait for each other here.
        await client.query(`insert into dispatcher_file_rate (tracker) values ($1) on conflict (tracker) do nothing`, [options.tracker]);
        const { events, at, offset } = await read((text, params) => client.query(text, params), true);
        const { live, status } = measureWindow(events, at, options.ratePerMinute);
        const granted = Math.max(0, Math.min(Math.floor(wanted), status.available));
        const recordAt = recordTime(at, since === undefined ? undefined : since + offset, windowMs);
        const kept = live as StoredEvent[];
        if (granted > 0 || kept.length !== events.length) await save(client, granted > 0 ? [...kept, { id, at: recordAt, count: granted }] : kept);
        return granted;
      });
      const result = await work(grant);
      const used = Math.max(0, Math.min(grant, result.used));
      if (used !== grant) {
        await options.pool.transaction(async (client) => {
          const { events } = await read((text, params) => client.query(text, params), true);
          const back = events.flatMap((event) => (event.id !== id ? [event] : used > 0 ? [{ ...event, count: used }] : []));
          await save(client, back);
        });
      }
      return { ...result, granted: grant };
    },
  };
}
