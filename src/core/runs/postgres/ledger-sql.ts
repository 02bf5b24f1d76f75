import pg from 'pg';
import type { ClusterRun, EndedRun, LedgerData, RunRecord } from '../ledger.ts';
import type { OutboxEntry } from '../outbox.ts';

/**
 * The SQL of the PostgreSQL ledger, as texts without parameters (values are escaped literals), so
 * that one round trip can carry several statements: `begin`, the lock and the load in one, the
 * writes and `commit` in another.
 */

/**
 * The advisory lock a write deciding over every host's runs takes (reservations, a retry's start):
 * such writes of all hosts are serialised. Every write also locks its host's row: this host's
 * writes are serialised, and a takeover skips a host while one of its writes is under way.
 */
export const LEDGER_LOCK = '7236828176628737'; // "dispLDG" as a number, arbitrary but fixed
export const ACTIVE_SQL = `('starting', 'running', 'retry_wait')`;
/** Finished runs a read shows. */
export const HISTORY = 200;
/**
 * How far back a load looks for runs that stopped being active (`Loaded.ended`): longer than any
 * poll takes, short enough that the query stays small.
 */
export const ENDED_WITHIN_MS = 10 * 60_000;

/** What a host keeps beside its runs (the file ledger's top-level fields). */
export type HostState = Pick<LedgerData, 'daemons' | 'lastPollAt' | 'lastPollError' | 'brokenRoutes' | 'lastApiPort' | 'spend'>;

export interface Loaded {
  host?: { instance: string; takenOver: boolean; state: Partial<HostState> };
  /** This host's active runs, and its finished ones the tracker is still owed changes for. */
  live: Array<{ fence: number; record: RunRecord }>;
  /** Other hosts' active runs; loaded for reads and for writes that decide over the cluster. */
  cluster?: ClusterRun[];
  /** With `cluster`: runs of this tracker, any host's, that stopped being active within ENDED_WITHIN_MS. */
  ended?: EndedRun[];
  outbox: OutboxEntry[];
  history?: RunRecord[];
}

export const literal = (value: string): string => pg.escapeLiteral(value);

/** JSON for a jsonb literal: PostgreSQL's text cannot hold NUL, so an escaped one becomes U+FFFD. */
export const jsonLiteral = (value: unknown): string => literal(JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd'));

/** `begin`, the locks a write takes, and the load, as one text (one round trip). */
export function beginWriteSql(hostId: string, tracker: string, cluster: boolean): string {
  const lock = cluster ? `select pg_advisory_xact_lock(${LEDGER_LOCK}); ` : '';
  return `begin; ${lock}select 1 from dispatcher_hosts where host_id = ${literal(hostId)} for update; ${loadSql(hostId, tracker, false, cluster)}`;
}

/**
 * The load. With the cluster, it also brings the runs of this tracker that stopped being active
 * lately, each with its age by the database's clock (`clock_timestamp()`: read as late as the
 * statement allows, so the age errs short, towards "changed after the poll"), for reserveIn.
 */
export function loadSql(hostId: string, tracker: string, withHistory: boolean, withCluster = true): string {
  const host = literal(hostId);
  const history = withHistory
    ? `, (select coalesce(json_agg(h.record order by h.ended_at, h.id), '[]'::json) from (
         select record, ended_at, id from dispatcher_runs where host_id = ${host} and ended_at is not null and status not in ${ACTIVE_SQL}
         order by ended_at desc limit ${HISTORY}) h) as history`
    : '';
  return `select
    (select json_build_object('instance', instance, 'takenOver', taken_over_at is not null, 'state', state) from dispatcher_hosts where host_id = ${host}) as host,
    (select coalesce(json_agg(json_build_object('fence', fence, 'record', record) order by created_at, id), '[]'::json) from dispatcher_runs
       where host_id = ${host} and (status in ${ACTIVE_SQL} or id in (select run_id from dispatcher_outbox where host_id = ${host}))) as live,
    ${
      withCluster
        ? `(select coalesce(json_agg(json_build_object('id', id, 'taskId', task_id, 'route', route, 'host', host_id, 'status', status, 'tracker', tracker,
         'taskName', record->>'taskName', 'taskUrl', record->>'taskUrl', 'agent', record->>'agent', 'startedAt', record->>'startedAt')), '[]'::json)
       from dispatcher_runs where host_id <> ${host} and status in ${ACTIVE_SQL})`
        : 'null::json'
    } as cluster,
    ${
      withCluster
        ? `(select coalesce(json_agg(json_build_object('taskId', task_id, 'host', host_id, 'ageMs', floor(extract(epoch from clock_timestamp() - changed_at) * 1000))), '[]'::json)
       from dispatcher_runs where tracker = ${literal(tracker)} and status not in ${ACTIVE_SQL} and changed_at > clock_timestamp() - interval '${ENDED_WITHIN_MS} milliseconds')`
        : 'null::json'
    } as ended,
    (select coalesce(json_agg(entries order by seq), '[]'::json) from dispatcher_outbox where host_id = ${host}) as outbox${history}`;
}

export function parseLoaded(row: { host: Loaded['host'] | null; live: Loaded['live']; cluster: ClusterRun[] | null; ended: EndedRun[] | null; outbox: OutboxEntry[][]; history?: RunRecord[] }): Loaded {
  return {
    host: row.host ?? undefined,
    live: row.live.map((run) => ({ fence: Number(run.fence), record: run.record })),
    cluster: row.cluster ?? undefined,
    ended: row.ended?.map((run) => ({ ...run, ageMs: Number(run.ageMs) })),
    outbox: row.outbox.flat(),
    history: row.history,
  };
}

export interface RunRow {
  id: string;
  task_id: string;
  route: string;
  status: string;
  record: RunRecord;
  ended_at: string | null;
}

/** Only what changed: runs updated under their fencing token, runs inserted, the host's state, the outbox rows of changed runs. */
export interface WritePlan {
  updates: Array<RunRow & { fence: number }>;
  inserts: RunRow[];
  state?: HostState;
  outboxUpserts: Array<{ run_id: string; entries: OutboxEntry[] }>;
  outboxDeletes: string[];
}

export const isEmptyPlan = (plan: WritePlan): boolean =>
  plan.updates.length === 0 && plan.inserts.length === 0 && plan.state === undefined && plan.outboxUpserts.length === 0 && plan.outboxDeletes.length === 0;

/**
 * The writes of one ledger update, ending with `commit`. Updates go first, each only where the
 * run's fencing token is still the one read: `dispatcher_fenced` fails the whole transaction
 * otherwise. Inserts follow, so a run finished and its retry queued in one batch never meet as two
 * active runs of one task. `writeId` (the lease holder's writes) goes to the host's row in the same
 * transaction: read back, it says whether a write whose acknowledgement was lost committed.
 */
export function writeSql(hostId: string, tracker: string, plan: WritePlan, writeId?: string): string {
  const host = literal(hostId);
  const statements: string[] = [];
  if (plan.updates.length > 0) {
    statements.push(`with upd as (
      update dispatcher_runs r set status = x.status, record = x.record, ended_at = x.ended_at
      from jsonb_to_recordset(${jsonLiteral(plan.updates)}::jsonb) as x(id text, fence bigint, status text, record jsonb, ended_at timestamptz)
      where r.id = x.id and r.fence = x.fence and r.host_id = ${host} returning 1)
    select dispatcher_fenced(${plan.updates.length}, (select count(*) from upd))`);
  }
  if (plan.inserts.length > 0) {
    statements.push(`insert into dispatcher_runs (id, tracker, task_id, route, host_id, status, record, ended_at)
      select x.id, ${literal(tracker)}, x.task_id, x.route, ${host}, x.status, x.record, x.ended_at
      from jsonb_to_recordset(${jsonLiteral(plan.inserts)}::jsonb) as x(id text, task_id text, route text, status text, record jsonb, ended_at timestamptz)`);
  }
  const hostColumns = [
    ...(plan.state === undefined ? [] : [`state = ${jsonLiteral(plan.state)}::jsonb`]),
    ...(writeId === undefined ? [] : [`last_write = ${literal(writeId)}`]),
  ];
  if (hostColumns.length > 0) statements.push(`update dispatcher_hosts set ${hostColumns.join(', ')} where host_id = ${host}`);
  if (plan.outboxDeletes.length > 0) {
    statements.push(`delete from dispatcher_outbox where host_id = ${host} and run_id in (select jsonb_array_elements_text(${jsonLiteral(plan.outboxDeletes)}::jsonb))`);
  }
  if (plan.outboxUpserts.length > 0) {
    statements.push(`insert into dispatcher_outbox (run_id, host_id, entries)
      select x.run_id, ${host}, x.entries from jsonb_to_recordset(${jsonLiteral(plan.outboxUpserts)}::jsonb) as x(run_id text, entries jsonb)
      on conflict (run_id) do update set entries = excluded.entries, host_id = excluded.host_id`);
  }
  statements.push('commit');
  return statements.join(';\n');
}

/**
 * Whether the write `writeId` of this host committed, waiting (`for share`, up to `lockTimeoutMs`)
 * for a transaction of it that still holds the host's row: a write whose client is gone may yet
 * commit on the server.
 */
export function landedSql(hostId: string, writeId: string, lockTimeoutMs: number): string {
  return `begin; set local lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))};
    select last_write is not distinct from ${literal(writeId)} as landed from dispatcher_hosts where host_id = ${literal(hostId)} for share; commit`;
}

/** Fields of a run record that only mean something on the host that started it. */
const LOCAL_FIELDS = ['owner', 'pid', 'pgid', 'startTicks', 'exitFile', 'logFile', 'cwd', 'detached', 'tokenHash'];

/**
 * Takes over every host whose lease ran out (and that nobody else is taking over), when the taker's
 * own lease is still alive: its active runs, and finished runs it still owed the tracker changes
 * for, become the taker's, each with its fencing token bumped and its host-local fields dropped;
 * its outbox rows follow, marked uncertain (a try may have reached the tracker) and free to try.
 */
export function takeOverSql(hostId: string, instance: string): string {
  const host = literal(hostId);
  const dropped = LOCAL_FIELDS.map((field) => ` - ${literal(field)}`).join('');
  // Marked in one statement (a host whose write is under way holds its row: skipped until the next
  // heartbeat); moved in the next, whose fresh snapshot sees every write that host committed.
  const taken = `(select host_id from dispatcher_hosts where taken_over_by = ${host} and taken_over_at = now())`;
  return `update dispatcher_hosts set taken_over_at = now(), taken_over_by = ${host}
      where host_id in (select host_id from dispatcher_hosts where lease_until < now() and taken_over_at is null and host_id <> ${host} for update skip locked)
        and exists (select 1 from dispatcher_hosts where host_id = ${host} and instance = ${literal(instance)} and taken_over_at is null and lease_until > now());
    with moved as (
      update dispatcher_runs r set host_id = ${host}, fence = r.fence + 1,
        record = (r.record${dropped}) || jsonb_build_object('host', ${host}, 'takenOverFrom', r.host_id)
      where r.host_id in ${taken}
        and (r.status in ${ACTIVE_SQL} or r.id in (select run_id from dispatcher_outbox o where o.host_id = r.host_id))
      returning r.id, r.status, r.fence, r.record->>'takenOverFrom' as from_host),
    carried as (
      update dispatcher_outbox o set host_id = ${host},
        entries = (select jsonb_agg((e - 'owner') || '{"uncertain": true}'::jsonb order by ord) from jsonb_array_elements(o.entries) with ordinality as t(e, ord))
      where o.host_id in ${taken}
      returning o.run_id)
    select (select coalesce(json_agg(json_build_object('id', id, 'fromHost', from_host, 'status', status, 'fence', fence)), '[]'::json) from moved) as runs,
      (select count(*) from carried) as outbox,
      (select coalesce(json_agg(host_id), '[]'::json) from ${taken} t) as hosts`;
}
