import type { ClientBase } from 'pg';
import { MIGRATIONS } from './migrations.ts';

/** The advisory lock every host takes to migrate: hosts starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6469_7370_6d69_67n; // "dispmig"

export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the schema to the newest version this build knows, under an advisory lock, one
 * transaction per version. A database at a newer version than this build knows is refused: an
 * older dispatcher must not write into a schema it does not understand.
 */
export async function migrate(client: ClientBase, migrations: readonly string[] = MIGRATIONS): Promise<MigrationResult> {
  await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
  try {
    await client.query('create table if not exists dispatcher_migrations (version integer primary key, applied_at timestamptz not null default now())');
    const { rows } = await client.query<{ version: number | null }>('select max(version) as version from dispatcher_migrations');
    const from = rows[0].version ?? 0;
    if (from > migrations.length) {
      throw new Error(`the database's dispatcher schema is at version ${from}, newer than this dispatcher knows (${migrations.length}): upgrade this host's dispatcher`);
    }
    for (let version = from + 1; version <= migrations.length; version++) {
      await client.query('begin');
      try {
        await client.query(migrations[version - 1]);
        await client.query('insert into dispatcher_migrations (version) values ($1)', [version]);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw new Error(`migrating the dispatcher schema to version ${version} failed: ${(error as Error).message}`, { cause: error });
      }
    }
    return { from, to: migrations.length };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
  }
}
