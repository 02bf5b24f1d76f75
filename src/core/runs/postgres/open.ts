import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Config } from '../../../config/types.ts';
import { ConfigError, DatabaseError } from '../../../errors.ts';
import type { AppLogger } from '../../../log.ts';
import { backoffDelay } from '../../../util/backoff.ts';
import { Database, DatabaseUnavailableError } from './database.ts';
import { migrate } from './migrate.ts';
import { PostgresLedger } from './postgres-ledger.ts';
import { trackerKey } from './tracker-key.ts';

export interface OpenPostgresOptions {
  /** `run`, `poll-once`: this process dispatches, so it will hold the host's lease and every write checks it. */
  dispatching?: boolean;
  /** `run`: a database not answering yet is waited for (a warning, then a line when it answers), not fatal. */
  waitForDatabase?: boolean;
  log?: AppLogger;
  signal?: AbortSignal;
}

/** Connects to the cluster's database, brings the schema up to date and opens this host's ledger (no lease taken yet). */
export async function openPostgresLedger(config: Config, options: OpenPostgresOptions = {}): Promise<PostgresLedger> {
  const coordination = config.coordination!;
  if (!coordination.url) {
    throw new ConfigError(`${config.file ?? 'config'}: [coordination] needs the database URL in the environment variable ${coordination.urlEnv} (or in .env beside the config); it is not set`);
  }
  const db = new Database({ url: coordination.url, queryTimeoutMs: Math.max(5_000, coordination.leaseTtlMs) });
  try {
    for (let failures = 0; ; failures++) {
      try {
        await db.withClient((run) => migrate({ query: run } as unknown as pg.ClientBase));
        if (failures > 0) options.log?.info('the database answers again');
        break;
      } catch (error) {
        if (!(error instanceof DatabaseUnavailableError)) throw error;
        if (!options.waitForDatabase || options.signal?.aborted) throw new DatabaseError('unavailable', `${error.message} (the [coordination] database, from ${coordination.urlEnv})`, { cause: error });
        const delay = backoffDelay(failures + 1, 1_000, 30_000);
        if (failures === 0) options.log?.warn(`${error.message}; waiting for it (next try in ${Math.round(delay / 1000)}s, then less often)`);
        await sleep(delay, undefined, { signal: options.signal }).catch(() => {});
      }
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  return new PostgresLedger({ db, hostId: coordination.hostId, tracker: trackerKey(config.backend, config.baseDir), leaseTtlMs: options.dispatching ? coordination.leaseTtlMs : undefined, warn: options.log && ((message) => options.log!.warn(message)) });
}
