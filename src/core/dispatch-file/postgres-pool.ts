import pg from 'pg';
import type { CoordinationConfig } from '../../config/types.ts';
import { ConfigError, DatabaseError } from '../../errors.ts';
import { redact, registerSecret } from '../../util/redact.ts';
import { migrate } from '../runs/postgres/migrate.ts';
import { DatabaseUnavailableError, describe } from '../runs/postgres/database.ts';

/**
 * dispatch-file's connections to the [coordination] database: a small pool (a cycle's statements
 * run one after the other), every failure turned into a DatabaseError whose message holds neither
 * the URL nor its password.
 */
export interface DispatchFilePool {
  /** One statement on any connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** `work` in one transaction on one connection; rolled back (and the connection dropped) when it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Connects and brings the schema up to date (under the migration lock); a failure says what and exits clearly. */
export async function openDispatchFilePool(coordination: CoordinationConfig, configFile: string | undefined): Promise<DispatchFilePool> {
  const url = databaseUrlOf(coordination, configFile);
  // Registered by the config loader too; again here for configs built in code.
  registerSecret(url);
  const described = (error: unknown) => databaseError(error, coordination.urlEnv);
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 10_000,
    query_timeout: 15_000,
    idleTimeoutMillis: 30_000,
    application_name: 'dispatcher dispatch-file',
  });
  // An idle connection the server closed (a restart) is reported here; the pool drops it.
  pool.on('error', () => {});

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw described(error);
    }
    client.on('error', () => {});
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query('commit');
      client.release();
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      client.release(true);
      throw described(error);
    }
  }

  const opened: DispatchFilePool = {
    async query(text, params) {
      try {
        return await pool.query(text, params);
      } catch (error) {
        throw described(error);
      }
    },
    transaction,
    close: () => pool.end().catch(() => {}),
  };
  try {
    const client = await pool.connect();
    client.on('error', () => {});
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } catch (error) {
    await opened.close();
    throw described(error);
  }
  return opened;
}

/** The database URL from the environment; a config error (exit 2) when the variable is not set. */
export function databaseUrlOf(coordination: CoordinationConfig, configFile: string | undefined): string {
  if (coordination.url) return coordination.url;
  throw new ConfigError(`${configFile ?? 'config'}: [coordination] needs the database URL in the environment variable ${coordination.urlEnv} (or in .env beside the config); it is not set`);
}

/** Connection trouble is `unavailable`, refused credentials `auth`, the rest `failed`; never the URL. */
export function databaseError(error: unknown, urlEnv: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = String((error as { code?: string })?.code ?? '');
  const message = redact((error as Error)?.message ?? String(error));
  const where = `the [coordination] database (${urlEnv})`;
  if (/^28/.test(code)) return new DatabaseError('auth', `${where} refused the credentials: ${message}`, { cause: error });
  if (describe(error) instanceof DatabaseUnavailableError) return new DatabaseError('unavailable', `${where} is unreachable: ${message}`, { cause: error });
  return new DatabaseError('failed', `${where}: ${message}`, { cause: error });
}
