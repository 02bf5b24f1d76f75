import type { Config } from '../../config/types.ts';
import { FileLedger, type Ledger } from './ledger.ts';
import type { OpenPostgresOptions } from './postgres/open.ts';

/**
 * The ledger the config asks for: PostgreSQL with `[coordination]` (several hosts), else the files
 * in `state_dir`. Loaded lazily: without `[coordination]` the PostgreSQL client is never imported.
 */
export async function openLedger(config: Config, options: OpenPostgresOptions = {}): Promise<Ledger> {
  if (!config.coordination) return new FileLedger(config.stateDir);
  const { openPostgresLedger } = await import('./postgres/open.ts');
  return openPostgresLedger(config, options);
}
