import type { Database } from './database.ts';

/** One host of the cluster, as `status` and the dashboard show it. */
export interface ClusterHostStatus {
  hostId: string;
  /** Its lease is alive (and nobody took it over). */
  alive: boolean;
  /** Milliseconds since its last heartbeat, by the database's clock. */
  leaseAgeMs: number;
  /** Agents starting or running on it. */
  running: number;
  /** Its max_concurrent_agents, as its running dispatcher said; undefined when none runs. */
  slots?: number;
  free: number;
  takenOverBy?: string;
  /** It gave its lease up at a clean stop (`run` stopped, `poll-once` done): not alive, not dead either. */
  stopped?: true;
}

export interface ClusterStatus {
  /** This host. */
  hostId: string;
  hosts: ClusterHostStatus[];
  running: number;
  /** cluster_max_concurrent_agents, if set. */
  max?: number;
  /** Free slots of the live hosts, within the cluster cap. */
  free: number;
}

/** A host neither seen nor holding runs for this long is left out: retired and renamed hosts fade away. */
const FORGOTTEN_AFTER = `interval '1 day'`;

/** The cluster from the database: every host seen within a day, its heartbeat's age and its agents. */
export async function readClusterStatus(db: Database, hostId: string, clusterMax: number | undefined): Promise<ClusterStatus> {
  const { rows } = await db.query<{ host_id: string; alive: boolean; age_ms: string; running: string; max_agents: number | null; taken_over_by: string | null; stopped: boolean }>(
    `select h.host_id, h.lease_until > now() and h.taken_over_at is null as alive,
       (extract(epoch from now() - h.heartbeat_at) * 1000)::bigint as age_ms,
       (select count(*) from dispatcher_runs r where r.host_id = h.host_id and r.status in ('starting', 'running')) as running,
       (select max((d->>'maxAgents')::int) from jsonb_array_elements(coalesce(h.state->'daemons', '[]'::jsonb)) d) as max_agents,
       h.taken_over_by, h.lease_until <= now() and h.state ? 'leftAt' as stopped
     from dispatcher_hosts h
     where h.heartbeat_at > now() - ${FORGOTTEN_AFTER} or exists (select 1 from dispatcher_runs r where r.host_id = h.host_id and r.status in ('starting', 'running', 'retry_wait'))
     order by h.host_id`,
  );
  const hosts = rows.map((row): ClusterHostStatus => {
    const running = Number(row.running);
    const slots = row.max_agents ?? undefined;
    return {
      hostId: row.host_id,
      alive: row.alive,
      leaseAgeMs: Number(row.age_ms),
      running,
      ...(slots === undefined ? {} : { slots }),
      free: row.alive && slots !== undefined ? Math.max(0, slots - running) : 0,
      ...(row.taken_over_by ? { takenOverBy: row.taken_over_by } : {}),
      ...(row.stopped ? { stopped: true as const } : {}),
    };
  });
  const running = hosts.reduce((sum, host) => sum + host.running, 0);
  const free = hosts.reduce((sum, host) => sum + host.free, 0);
  return { hostId, hosts, running, ...(clusterMax === undefined ? {} : { max: clusterMax }), free: clusterMax === undefined ? free : Math.max(0, Math.min(free, clusterMax - running)) };
}

/** `cluster: 3 hosts, 7 running, 5 free (cap 12)` and one line per host. */
export function renderClusterStatus(cluster: ClusterStatus): string[] {
  const cap = cluster.max === undefined ? '' : ` (cluster cap ${cluster.max})`;
  return [
    `cluster: ${cluster.hosts.length} host(s), ${cluster.running} running, ${cluster.free} free${cap}`,
    ...cluster.hosts.map((host) => {
      const silent = `${(host.leaseAgeMs / 1000).toFixed(0)}s`;
      const state = host.alive
        ? `lease ${(host.leaseAgeMs / 1000).toFixed(1)}s old`
        : host.stopped
          ? `stopped (lease given up; last heartbeat ${silent} ago)`
          : host.takenOverBy
            ? `down, taken over by "${host.takenOverBy}"`
            : `lease ran out, no heartbeat for ${silent}`;
      const slots = host.slots === undefined ? `${host.running} running` : `${host.running}/${host.slots} running, ${host.free} free`;
      return `  ${host.hostId}${host.hostId === cluster.hostId ? ' (this host)' : ''}\t${state}\t${slots}`;
    }),
  ];
}
