import type { RunRecord, RunStatus, StopRequest } from '../ledger.ts';
import type { Database } from './database.ts';

/**
 * Stops of another host's runs (`dispatcher stop` on any host of a cluster). The stopper cannot
 * signal an agent on another machine: it writes the decision into the run's row, and the owning
 * host's daemon finds it with its next heartbeat (the renewal returns its runs with a stop
 * pending, see leases.ts) and stops the agent as a local stop would.
 *
 * The owner writes whole run records, loaded in a transaction that holds its host row. So the
 * stopper takes that same row lock first: its change lands between two of the owner's writes,
 * never inside one, and the owner's next write loads it. The fencing token is left alone (the
 * owner's writes must go on); the run must still be active and have no stop yet (the first
 * decision stands).
 */

const OCCUPYING_SQL = `('starting', 'running')`;

export interface StopElsewhere {
  /** The run as recorded, with the stop decided for it (this one, or an earlier that stands). */
  run: RunRecord;
  /** The host that owns it. */
  host: string;
  /** Whether that host's lease is alive: if not, the host that takes it over settles the run. */
  hostAlive: boolean;
  /** False when the run already had a stop decided: that one stands. */
  recorded: boolean;
}

/**
 * Records `request` for the active run `runId` of whichever host owns it, under that host's row
 * lock. Undefined when no such active run exists (any more). A takeover moving the run meanwhile
 * is followed to the new owner.
 */
export async function recordStopOnOwner(db: Database, runId: string, request: StopRequest): Promise<StopElsewhere | undefined> {
  return db.withClient(async (query) => {
    for (;;) {
      await query('begin');
      const owner = await query(
        `select r.host_id, h.lease_until > now() and h.taken_over_at is null as alive
         from dispatcher_runs r join dispatcher_hosts h on h.host_id = r.host_id
         where r.id = $1 and r.status in ${OCCUPYING_SQL} for update of h`,
        [runId],
      );
      const found = rowsOf<{ host_id: string; alive: boolean }>(owner)[0];
      if (!found) {
        await query('commit');
        return undefined;
      }
      const updated = await query(
        `update dispatcher_runs set record = jsonb_set(record, '{stopRequest}', $3::jsonb)
         where id = $1 and host_id = $2 and status in ${OCCUPYING_SQL} and not (record ? 'stopRequest')
         returning record`,
        [runId, found.host_id, JSON.stringify(request)],
      );
      const recorded = rowsOf<{ record: RunRecord }>(updated)[0];
      const current = recorded ? undefined : rowsOf<{ host_id: string; status: RunStatus; record: RunRecord }>(await query('select host_id, status, record from dispatcher_runs where id = $1', [runId]))[0];
      await query('commit');
      if (recorded) return { run: recorded.record, host: found.host_id, hostAlive: found.alive, recorded: true };
      if (!current || !['starting', 'running'].includes(current.status)) return undefined;
      if (current.host_id !== found.host_id) continue; // taken over while we waited for the lock: the new owner's row now
      return { run: { ...current.record, status: current.status }, host: found.host_id, hostAlive: found.alive, recorded: false };
    }
  });
}

/** A run of any host, by id, as the database has it now (what a stop elsewhere waits on). */
export async function readRunAnywhere(db: Database, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await db.query<{ host_id: string; status: RunStatus; record: RunRecord }>('select host_id, status, record from dispatcher_runs where id = $1', [runId]);
  return rows[0] && { ...rows[0].record, status: rows[0].status, host: rows[0].host_id };
}

/** A run of this host with a stop recorded and its agent not settled yet: what the heartbeat hands to the router. */
export interface PendingStop {
  runId: string;
  reason: string;
  /** The host that asked, when it was another. */
  fromHost?: string;
}

/** The select, for the heartbeat's renewal to return in the same statement: this host's occupying runs with a stop recorded. */
export function pendingStopsSql(hostParam: string): string {
  return `(select coalesce(json_agg(json_build_object('runId', id, 'reason', record->'stopRequest'->>'reason', 'fromHost', record->'stopRequest'->>'fromHost')), '[]'::json)
     from dispatcher_runs where host_id = ${hostParam} and status in ${OCCUPYING_SQL} and record ? 'stopRequest')`;
}

function rowsOf<R>(result: unknown): R[] {
  return (result as { rows: R[] }).rows;
}
