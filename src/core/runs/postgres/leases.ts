import type { ClientBase } from 'pg';
import { type PendingStop, pendingStopsSql } from './stops-elsewhere.ts';

/**
 * Host leases. A host is alive while its lease is ahead of the database's clock (`now()`, never the
 * hosts' own clocks): it renews it every few seconds. Another host takes over the active runs of a
 * host whose lease ran out, bumping each run's fencing token, so whatever the late host still tries
 * to write about those runs is refused. A host that finds its lease taken over must stop acting on
 * those runs before anything else.
 */
export interface HostLease {
  hostId: string;
  /** This process: tells a restart under the same host name from a second live process. */
  instance: string;
  ttlMs: number;
}

export interface TakenOverRun {
  id: string;
  fromHost: string;
  fence: number;
  record: unknown;
}

export interface ClusterHost {
  hostId: string;
  alive: boolean;
  /** Milliseconds since its last heartbeat, by the database's clock. */
  heartbeatAgeMs: number;
  activeRuns: number;
  takenOverBy?: string;
}

const ACTIVE_STATUSES = `('starting', 'running', 'retry_wait')`;

export class LeaseHeldError extends Error {
  override readonly name = 'LeaseHeldError';
}

/** Takes the host name's lease; refused while another live process holds it. */
export async function acquireLease(db: ClientBase, lease: HostLease): Promise<void> {
  const { rowCount } = await db.query(
    `insert into dispatcher_hosts (host_id, instance, lease_until) values ($1, $2, now() + $3 * interval '1 millisecond')
     on conflict (host_id) do update set instance = excluded.instance, started_at = now(), heartbeat_at = now(),
       lease_until = excluded.lease_until, taken_over_at = null, taken_over_by = null, state = dispatcher_hosts.state - 'leftAt'
     where dispatcher_hosts.lease_until < now() or dispatcher_hosts.instance = excluded.instance`,
    [lease.hostId, lease.instance, lease.ttlMs],
  );
  if (rowCount === 0) {
    throw new LeaseHeldError(`another dispatcher holds the host name "${lease.hostId}" and its lease is alive: give each host its own host_id`);
  }
}

/** Renews the lease; false when it was taken over (or given to another process): stop acting at once. */
export async function renewLease(db: ClientBase, lease: HostLease): Promise<boolean> {
  return (await renewLeaseReadingStops(db, lease)) !== undefined;
}

/**
 * The heartbeat's renewal, which also returns this host's runs with a stop pending (recorded by
 * another host: stops-elsewhere.ts) in the same statement; undefined when the lease was lost.
 */
export async function renewLeaseReadingStops(db: ClientBase, lease: HostLease): Promise<PendingStop[] | undefined> {
  const { rows } = await db.query<{ stops: PendingStop[] }>(
    `update dispatcher_hosts set heartbeat_at = now(), lease_until = now() + $3 * interval '1 millisecond'
     where host_id = $1 and instance = $2 and taken_over_at is null
     returning ${pendingStopsSql('$1')} as stops`,
    [lease.hostId, lease.instance, lease.ttlMs],
  );
  return rows[0]?.stops.map(({ runId, reason, fromHost }) => ({ runId, reason, ...(fromHost ? { fromHost } : {}) }));
}

/** Gives the lease up at a clean stop, so nobody waits for it to run out; `status` shows the host stopped, not dead. */
export async function releaseLease(db: ClientBase, lease: HostLease): Promise<void> {
  await db.query(
    `update dispatcher_hosts set lease_until = now(), state = coalesce(state, '{}'::jsonb) || jsonb_build_object('leftAt', now()) where host_id = $1 and instance = $2`,
    [lease.hostId, lease.instance],
  );
}

/**
 * Takes over the active runs of every host whose lease ran out, in one transaction. Hosts being
 * taken over by someone else at the same moment are skipped, so each run is taken once.
 */
export async function takeOverExpiredHosts(db: ClientBase, hostId: string): Promise<TakenOverRun[]> {
  await db.query('begin');
  try {
    const { rows } = await db.query<{ id: string; from_host: string; fence: string; record: unknown }>(
      `with dead as (
         update dispatcher_hosts set taken_over_at = now(), taken_over_by = $1
         where host_id in (
           select host_id from dispatcher_hosts
           where lease_until < now() and taken_over_at is null and host_id <> $1
           for update skip locked)
         returning host_id)
       update dispatcher_runs r set host_id = $1, fence = r.fence + 1
       from dead where r.host_id = dead.host_id and r.status in ${ACTIVE_STATUSES}
       returning r.id, dead.host_id as from_host, r.fence, r.record`,
      [hostId],
    );
    await db.query('commit');
    return rows.map((row) => ({ id: row.id, fromHost: row.from_host, fence: Number(row.fence), record: row.record }));
  } catch (error) {
    await db.query('rollback').catch(() => {});
    throw error;
  }
}

/** Every host that has a lease row, with its active runs: what `status` shows of the cluster. */
export async function clusterHosts(db: ClientBase): Promise<ClusterHost[]> {
  const { rows } = await db.query<{ host_id: string; alive: boolean; age_ms: string; active: string; taken_over_by: string | null }>(
    `select h.host_id, h.lease_until > now() as alive,
            (extract(epoch from now() - h.heartbeat_at) * 1000)::bigint as age_ms,
            (select count(*) from dispatcher_runs r where r.host_id = h.host_id and r.status in ${ACTIVE_STATUSES}) as active,
            h.taken_over_by
     from dispatcher_hosts h order by h.host_id`,
  );
  return rows.map((row) => ({
    hostId: row.host_id,
    alive: row.alive,
    heartbeatAgeMs: Number(row.age_ms),
    activeRuns: Number(row.active),
    ...(row.taken_over_by ? { takenOverBy: row.taken_over_by } : {}),
  }));
}
