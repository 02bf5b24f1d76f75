import pg from 'pg';
import { redact } from '../../../util/redact.ts';
import { LeaseHeldError } from './leases.ts';

/** This host's lease was taken over (or given to another process): it may no longer write. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'lease_lost';
}

/** A run changed hands (its fencing token moved on) since it was read: the write was refused whole. */
export class StaleFenceError extends Error {
  override readonly name = 'StaleFenceError';
  readonly code = 'stale_fence';
}

/** The database did not answer or refused the connection: nothing was written. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  readonly code = 'unavailable';
}

export interface DatabaseOptions {
  url: string;
  /** Connections at most (default 4: a daemon's writes are serialised anyway). */
  max?: number;
  /** A query that takes longer fails (a partition must not hang the daemon); default 10 s. */
  queryTimeoutMs?: number;
}

/**
 * A small pool over node-postgres that counts round trips (what `bench/cluster.ts` reports per
 * dispatch) and never lets a broken connection crash the process: a connection that failed is
 * thrown away, and the next query opens a new one.
 */
export class Database {
  /** Statements sent (one per round trip: a multi-statement text is one). */
  roundTrips = 0;
  readonly pool: pg.Pool;

  constructor(options: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 4,
      connectionTimeoutMillis: options.queryTimeoutMs ?? 10_000,
      query_timeout: options.queryTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'dispatcher',
    });
    // An idle connection the server closed (a restart) is reported here; the pool drops it.
    this.pool.on('error', () => {});
  }

  /** One statement (or a text of several, without parameters) on any connection. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    this.roundTrips++;
    try {
      return await this.pool.query<R>(text, params);
    } catch (error) {
      throw describe(error);
    }
  }

  /**
   * Runs `work` on one connection, which goes back to the pool afterwards — or is thrown away
   * when anything failed, since a connection left in an unknown state must not serve the next one.
   */
  async withClient<T>(work: (run: (text: string, params?: unknown[]) => Promise<pg.QueryResult | pg.QueryResult[]>) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw describe(error);
    }
    // Once per connection: it serves many calls, and a listener per call would pile up.
    if (!quieted.has(client)) {
      quieted.add(client);
      client.on('error', () => {});
    }
    const run = async (text: string, params?: unknown[]) => {
      this.roundTrips++;
      return (await client.query(text, params)) as unknown as pg.QueryResult | pg.QueryResult[];
    };
    try {
      const result = await work(run);
      client.release();
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      client.release(true);
      throw describe(error);
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

/** Connections whose errors are already taken care of (see withClient). */
const quieted = new WeakSet<pg.PoolClient>();

/** Connection trouble becomes a DatabaseUnavailableError; every message is redacted (the URL holds a password). */
export function describe(error: unknown): Error {
  if (error instanceof LeaseLostError || error instanceof StaleFenceError || error instanceof DatabaseUnavailableError || error instanceof LeaseHeldError) return error;
  const code = (error as { code?: string })?.code;
  const message = redact((error as Error)?.message ?? String(error));
  if (code === 'DF001') return new StaleFenceError(message, { cause: error });
  if (isConnectionError(error)) return new DatabaseUnavailableError(`the database is unreachable: ${message}`, { cause: error });
  const described = new Error(`database: ${message}`, { cause: error });
  (described as Error & { code?: string }).code = code;
  return described;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  const message = String((error as Error)?.message ?? '');
  // 57P01..57P03: the server is shutting down or starting; 08xxx: connection exceptions.
  return (
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code) ||
    /^(08|57P0)/.test(code) ||
    /Connection terminated|timeout exceeded|Query read timeout|connection timeout|Client has encountered a connection error/i.test(message)
  );
}
