import { join } from 'node:path';
import type { Config, DispatchFileConfig } from '../../config/types.ts';
import { createFileDispatchedSet, type DispatchedSet } from './dispatched-set.ts';
import { createPostgresDispatchedSet } from './postgres-dispatched-set.ts';
import { openDispatchFilePool, type DispatchFilePool } from './postgres-pool.ts';
import { createPostgresRateLimiter } from './postgres-rate-limit.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit.ts';
import { trackerKey } from '../runs/postgres/tracker-key.ts';

/**
 * Where dispatch-file keeps what outlives a cycle: the rate limit and the dispatched set. Without
 * [coordination], a state file in state_dir and the task files in tasks_dir (one host); with it,
 * PostgreSQL, shared by every host running dispatch-file against the same tracker. Chosen at start.
 */
export interface DispatchFileShared {
  limiter: RateLimiter;
  dispatched: DispatchedSet;
  /** `postgres`: through the [coordination] database. */
  kind: 'files' | 'postgres';
  close(): Promise<void>;
}

/** The rate-limit state in state_dir, shared by every dispatch-file process of this host. */
export const RATE_STATE_FILE = 'dispatch-file-rate.json';

export interface SharedStateOptions {
  now: () => number;
  /** Told when the rate-limit file is unreadable. */
  onCorrupt: (message: string) => void;
}

export async function openDispatchFileShared(config: Config, settings: DispatchFileConfig, options: SharedStateOptions): Promise<DispatchFileShared> {
  if (!config.coordination) {
    return {
      kind: 'files',
      limiter: createRateLimiter({ file: join(config.stateDir, RATE_STATE_FILE), ratePerMinute: settings.ratePerMinute, now: options.now, onCorrupt: options.onCorrupt }),
      dispatched: createFileDispatchedSet(),
      close: async () => {},
    };
  }
  const pool: DispatchFilePool = await openDispatchFilePool(config.coordination, config.file);
  // Hosts reading the same tracker (kind and address, no secret) share the allowance and the set.
  const tracker = trackerKey(settings.backend, config.baseDir);
  return {
    kind: 'postgres',
    limiter: createPostgresRateLimiter({ pool, tracker, ratePerMinute: settings.ratePerMinute, now: options.now }),
    dispatched: createPostgresDispatchedSet({ pool, tracker, hostId: config.coordination.hostId }),
    close: () => pool.close(),
  };
}
