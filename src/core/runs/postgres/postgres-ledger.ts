import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ACTIVE, type Ledger, type LedgerData, type RunOwner, type RunRecord, type StopRequest, type UpdateOptions } from '../ledger.ts';
import type { OutboxEntry } from '../outbox.ts';
import { type Database, DatabaseUnavailableError, LeaseLostError } from './database.ts';
import { type ClusterStatus, readClusterStatus } from './cluster-status.ts';
import { acquireLease, LeaseHeldError, releaseLease, renewLeaseReadingStops } from './leases.ts';
import { type PendingStop, readRunAnywhere, recordStopOnOwner, type StopElsewhere } from './stops-elsewhere.ts';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from '../../../util/file-lock.ts';
import { processStartTicks } from '../../process/process-group.ts';
import { beginWriteSql, ENDED_WITHIN_MS, HISTORY, type HostState, isEmptyPlan, landedSql, type Loaded, loadSql, parseLoaded, type RunRow, takeOverSql, type WritePlan, writeSql } from './ledger-sql.ts';

export interface PostgresLedgerOptions {
  db: Database;
  hostId: string;
  /** The tracker's key (tracker-key.ts): the unique index on active runs is per tracker. */
  tracker: string;
  /**
   * The lease's time to live, for a process that dispatches (`run`, `poll-once`): every write first
   * checks that this host's lease is still its own. Without it (status, stop, workspaces) writes
   * are checked by the runs' fencing tokens alone.
   */
  leaseTtlMs?: number;
  /** Where a warning goes (the daemon's log): a write that may or may not have committed. */
  warn?: (message: string) => void;
  /** How long to look for whether a write whose acknowledgement was lost committed; default 10 s. */
  landedWithinMs?: number;
}

export interface TakenOver {
  /** Hosts whose lease ran out and which this host took over. */
  hosts: string[];
  runs: Array<{ id: string; fromHost: string; status: string; fence: number }>;
  /** Runs whose pending tracker changes came along. */
  outbox: number;
}

/** A write whose `commit` is on its way: the view it wrote and the results of its changes. */
interface Committing {
  data: LedgerData;
  outcomes: Array<{ ok: boolean; value: unknown }>;
  /** Nothing changed: the `commit` only ends the transaction, whatever becomes of it. */
  empty: boolean;
}

interface Queued {
  change: (data: LedgerData) => unknown;
  cluster: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const SOON_MS = 50;
/** A read this recent is answered from memory: the tick, the token check and the dashboard read often. */
const READ_FRESH_MS = 200;

/**
 * The ledger of a host in PostgreSQL, shared with the other hosts of a cluster (docs/scale-out.md).
 * An update is one transaction holding this host's row (and, for a change that decides over the
 * cluster, a cluster-wide advisory lock): it checks this host still holds its lease, loads this
 * host's runs, state and outbox (and every other host's active runs when it decides over the
 * cluster), applies a batch of changes exactly as the file ledger does, and writes only what
 * changed, each changed run under its fencing token. Two round trips: `begin; locks; load`, then
 * `writes; commit`.
 */
export class PostgresLedger implements Ledger {
  readonly owner: RunOwner = { pid: process.pid, instance: randomUUID() };
  readonly hostId: string;
  readonly tracker: string;
  /** This process's hold on the host's lease; undefined before it is acquired and once it is lost. */
  private leaseInstance: string | undefined;
  private readonly lostListeners = new Set<() => void>();
  private readonly stopListeners = new Set<(stops: PendingStop[]) => void>();
  private queued: Queued[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private soon = new Map<string, Partial<RunRecord>>();
  private soonTimer: NodeJS.Timeout | undefined;
  private carried = new Map<string, Partial<RunRecord>>();
  /** This host's newest finished runs, oldest first. */
  private history: RunRecord[] = [];
  private view?: { at: number; data: LedgerData };
  /** The last view read or written, for readers while the database is away. */
  private lastSeen?: LedgerData;
  private reading?: Promise<LedgerData>;

  constructor(private readonly options: PostgresLedgerOptions) {
    this.hostId = options.hostId;
    this.tracker = options.tracker;
  }

  get where(): string {
    return `PostgreSQL (host "${this.hostId}")`;
  }

  get db(): Database {
    return this.options.db;
  }

  /** Whether this process holds the host's lease now. */
  get holdsLease(): boolean {
    return this.leaseInstance !== undefined;
  }

  /**
   * Takes the host's lease as a fresh instance; refused (LeaseHeldError) while another live process
   * holds it. A holder that was a process of this machine and is gone (a restart within the lease's
   * time, after a crash or a drain that left agents for the next start) is replaced at once.
   */
  async acquireLease(): Promise<void> {
    const instance = `${hostname()}/${process.pid}/${processStartTicks(process.pid) ?? ''}/${randomUUID()}`;
    const lease = { hostId: this.hostId, instance, ttlMs: this.ttl() };
    try {
      await this.onClient((client) => acquireLease(client, lease));
    } catch (error) {
      if (!(error instanceof LeaseHeldError)) throw error;
      const { rows } = await this.db.query<{ instance: string }>('select instance from dispatcher_hosts where host_id = $1', [this.hostId]);
      const holder = rows[0]?.instance;
      if (!holder || !isGoneLocalProcess(holder)) throw error;
      const { rowCount } = await this.db.query(
        `update dispatcher_hosts set instance = $3, started_at = now(), heartbeat_at = now(), lease_until = now() + $4 * interval '1 millisecond'
         where host_id = $1 and instance = $2 and taken_over_at is null`,
        [this.hostId, holder, instance, this.ttl()],
      );
      if (rowCount !== 1) throw error;
    }
    this.leaseInstance = instance;
  }

  /** The heartbeat: false when the lease was taken over (the listeners have been told). */
  async renewLease(): Promise<boolean> {
    const instance = this.leaseInstance;
    if (!instance) return false;
    const stops = await this.onClient((client) => renewLeaseReadingStops(client, { hostId: this.hostId, instance, ttlMs: this.ttl() }));
    if (!stops) this.leaseLost(instance);
    else if (stops.length > 0) for (const listener of this.stopListeners) listener(stops);
    return stops !== undefined;
  }

  /** Called at each heartbeat with this host's runs that have a stop recorded (by another host, or not yet acted on). */
  onStopsPending(listener: (stops: PendingStop[]) => void): () => void {
    this.stopListeners.add(listener);
    return () => this.stopListeners.delete(listener);
  }

  /** Records a stop for another host's active run, under that host's row lock (stops-elsewhere.ts). */
  recordStopElsewhere(runId: string, request: StopRequest): Promise<StopElsewhere | undefined> {
    return recordStopOnOwner(this.db, runId, request);
  }

  /** A run of any host, as the database has it now. */
  readRunAnywhere(runId: string): Promise<RunRecord | undefined> {
    return readRunAnywhere(this.db, runId);
  }

  async releaseLease(): Promise<void> {
    const instance = this.leaseInstance;
    if (!instance) return;
    this.leaseInstance = undefined;
    await this.onClient((client) => releaseLease(client, { hostId: this.hostId, instance, ttlMs: this.ttl() }));
  }

  /** Called once each time this process finds its lease taken over. */
  onLeaseLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Takes over the hosts whose lease ran out (see takeOverSql); nothing while this host's own lease is not alive. */
  async takeOver(): Promise<TakenOver> {
    const instance = this.leaseInstance;
    if (!instance) return { hosts: [], runs: [], outbox: 0 };
    const taken = await this.db.withClient(async (run) => {
      const results = (await run(`begin; ${takeOverSql(this.hostId, instance)}; commit`)) as pg.QueryResult[];
      const row = results[2].rows[0] as { runs: TakenOver['runs']; outbox: string; hosts: string[] };
      return { hosts: row.hosts, runs: row.runs, outbox: Number(row.outbox) };
    });
    if (taken.runs.length > 0 || taken.outbox > 0) this.view = undefined;
    return taken;
  }

  /** Every host of the cluster: lease age, agents, free slots (status, the dashboard). */
  clusterStatus(clusterMax: number | undefined): Promise<ClusterStatus> {
    return readClusterStatus(this.db, this.hostId, clusterMax);
  }

  read(): Promise<LedgerData> {
    if (this.view && Date.now() - this.view.at < READ_FRESH_MS) return Promise.resolve(this.view.data);
    this.reading ??= this.loadView().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async loadView(): Promise<LedgerData> {
    let rows: unknown[];
    try {
      ({ rows } = await this.db.query(loadSql(this.hostId, this.tracker, true)));
    } catch (error) {
      // The database away: readers (the agents' token checks, the dashboard) get what was last seen; writes fail.
      if (error instanceof DatabaseUnavailableError && this.lastSeen) return this.lastSeen;
      throw error;
    }
    const loaded = parseLoaded(rows[0] as Parameters<typeof parseLoaded>[0]);
    const live = new Set(loaded.live.map(({ record }) => record.id));
    this.history = (loaded.history ?? []).filter((run) => !live.has(run.id));
    const data = this.dataOf(loaded);
    this.view = { at: Date.now(), data };
    this.lastSeen = data;
    return data;
  }

  update<T>(change: (data: LedgerData) => T, options: UpdateOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ change, cluster: options.cluster === true, resolve: resolve as (value: unknown) => void, reject });
      // The first change of a turn asks for a write; the others join it (and those queued while a write is under way, the next).
      if (this.queued.length === 1) setImmediate(() => (this.flushing = this.flushing.then(() => this.flush())));
    });
  }

  async patch(runId: string, fields: Partial<RunRecord>): Promise<RunRecord | undefined> {
    return this.update((data) => {
      const run = data.runs.find((candidate) => candidate.id === runId);
      if (run) Object.assign(run, fields);
      return run ? { ...run } : undefined;
    });
  }

  patchSoon(runId: string, fields: Partial<RunRecord>): void {
    this.soon.set(runId, { ...this.soon.get(runId), ...fields });
    this.soonTimer ??= setTimeout(() => {
      this.soonTimer = undefined;
      if (this.soon.size > 0) this.update(() => {}).catch(() => {}); // kept for the next write
    }, SOON_MS);
  }

  async close(): Promise<void> {
    clearTimeout(this.soonTimer);
    await this.flushing;
    await this.db.close();
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    let results: Array<{ ok: boolean; value: unknown }>;
    try {
      results = await this.write(batch);
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, index) => (results[index].ok ? resolve : reject)(results[index].value));
  }

  private async write(batch: Queued[]): Promise<Array<{ ok: boolean; value: unknown }>> {
    const leased = this.options.leaseTtlMs !== undefined;
    const instance = this.leaseInstance;
    if (leased && !instance) throw new LeaseLostError(`host "${this.hostId}" does not hold its lease: nothing is written until it has it again`);
    const cluster = batch.some((queued) => queued.cluster);
    const writeId = leased ? randomUUID() : undefined;
    /** Set once the writes and their `commit` are on their way: what to resolve with should they have landed. */
    let committing = undefined as Committing | undefined;
    try {
      return await this.writeOnce(batch, cluster, instance, writeId, (sent) => (committing = sent));
    } catch (error) {
      // A SQL error (a stale fencing token...) rolled back for sure; a connection lost during the commit leaves it open.
      if (!committing || !(error instanceof DatabaseUnavailableError)) throw error;
      const within = this.options.landedWithinMs ?? LANDED_WITHIN_MS;
      const landed = committing.empty ? true : writeId ? await landedWrite(this.db, this.hostId, writeId, within) : false;
      if (landed === undefined) {
        this.options.warn?.(
          `a ledger write's acknowledgement was lost and the database could not say within ${within / 1000}s whether it committed (${error.message}): ` +
            'its callers retry against a fresh view; a reservation it may have made is dropped by the next recovery',
        );
      }
      if (landed !== true) throw error;
      this.written(committing.data);
      return committing.outcomes;
    }
  }

  private writeOnce(
    batch: Queued[],
    cluster: boolean,
    instance: string | undefined,
    writeId: string | undefined,
    committing: (sent: Committing) => void,
  ): Promise<Array<{ ok: boolean; value: unknown }>> {
    const leased = instance !== undefined;
    return this.db.withClient(async (run) => {
      const results = (await run(beginWriteSql(this.hostId, this.tracker, cluster))) as pg.QueryResult[];
      const loaded = parseLoaded(results[results.length - 1].rows[0] as Parameters<typeof parseLoaded>[0]);
      if (leased && (loaded.host?.instance !== instance || loaded.host?.takenOver)) {
        this.leaseLost(instance!);
        throw new LeaseLostError(`host "${this.hostId}" lost its lease (taken over, or held by another process): its write was refused`);
      }
      const before = snapshotOf(loaded);
      const data = this.dataOf(loaded);
      this.applySoon(data.runs, before.fences);
      const outcomes = batch.map(({ change }) => {
        try {
          return { ok: true, value: change(data) };
        } catch (error) {
          return { ok: false, value: error };
        }
      });
      const plan = this.planWrite(data, before);
      const empty = isEmptyPlan(plan);
      committing({ data, outcomes, empty });
      await run(empty ? 'commit' : writeSql(this.hostId, this.tracker, plan, writeId));
      this.written(data);
      return outcomes;
    });
  }

  /** The view a change (or a reader) sees: this host's runs, newest finished first among them, then other hosts' runs apart. */
  private dataOf(loaded: Loaded): LedgerData {
    const live = loaded.live.map(({ record }) => ({ ...record, host: this.hostId }));
    const ids = new Set(live.map((run) => run.id));
    const state = loaded.host?.state ?? {};
    return {
      version: 1,
      daemons: [],
      ...state,
      runs: [...this.history.filter((run) => !ids.has(run.id)), ...live],
      outbox: loaded.outbox.length > 0 ? loaded.outbox : undefined,
      ...(loaded.cluster ? { cluster: { hostId: this.hostId, tracker: this.tracker, runs: loaded.cluster, ended: loaded.ended ?? [], endedWithinMs: ENDED_WITHIN_MS } } : {}),
    };
  }

  /** Compares the changed view with what was loaded: only differences are written. */
  private planWrite(data: LedgerData, before: Snapshot): WritePlan {
    const plan: WritePlan = { updates: [], inserts: [], outboxUpserts: [], outboxDeletes: [] };
    const known = new Set(this.history.map((run) => run.id));
    for (const run of data.runs) {
      const fence = before.fences.get(run.id);
      if (fence === undefined && known.has(run.id)) continue; // the history is not written back (as runs.jsonl is not)
      run.host = this.hostId;
      const text = JSON.stringify(run);
      if (fence !== undefined && before.runs.get(run.id) === text) continue;
      const row: RunRow = { id: run.id, task_id: run.taskId, route: run.route, status: run.status, record: run, ended_at: ACTIVE.has(run.status) ? null : (run.endedAt ?? new Date().toISOString()) };
      if (fence === undefined) plan.inserts.push(row);
      else plan.updates.push({ ...row, fence });
    }
    const state: HostState = { daemons: data.daemons, lastPollAt: data.lastPollAt, lastPollError: data.lastPollError, brokenRoutes: data.brokenRoutes, lastApiPort: data.lastApiPort, spend: data.spend };
    if (JSON.stringify(state) !== before.state) plan.state = state;
    const after = groupByRun(data.outbox ?? []);
    for (const [runId, entries] of after) if (before.outbox.get(runId) !== JSON.stringify(entries)) plan.outboxUpserts.push({ run_id: runId, entries });
    for (const runId of before.outbox.keys()) if (!after.has(runId)) plan.outboxDeletes.push(runId);
    return plan;
  }

  /** After a commit: finished runs the tracker is owed nothing for join the history; readers see the result at once. */
  private written(data: LedgerData): void {
    const owed = new Set(data.outbox?.map((entry) => entry.runId));
    const historyIds = new Set(this.history.map((run) => run.id));
    const live = data.runs.filter((run) => !historyIds.has(run.id));
    const finished = live.filter((run) => !ACTIVE.has(run.status) && !owed.has(run.id));
    const kept = live.filter((run) => ACTIVE.has(run.status) || owed.has(run.id));
    this.history = [...this.history, ...finished].slice(-HISTORY);
    this.view = { at: Date.now(), data: { ...data, runs: [...this.history, ...kept] } };
    this.lastSeen = this.view.data;
    for (const [id, fields] of this.carried) if (this.soon.get(id) === fields) this.soon.delete(id);
    this.carried.clear();
    if (this.soon.size === 0) {
      clearTimeout(this.soonTimer);
      this.soonTimer = undefined;
    }
  }

  /** What waits in `soon` goes to this host's active runs; it leaves `soon` once a write has carried it. */
  private applySoon(runs: RunRecord[], live: ReadonlyMap<string, number>): void {
    if (this.soon.size === 0) return;
    for (const run of runs) {
      const fields = this.soon.get(run.id);
      if (fields && live.has(run.id) && ACTIVE.has(run.status)) Object.assign(run, fields);
    }
    this.carried = new Map(this.soon);
  }

  private leaseLost(instance: string): void {
    if (this.leaseInstance !== instance) return;
    this.leaseInstance = undefined;
    this.view = undefined;
    for (const listener of this.lostListeners) listener();
  }

  private ttl(): number {
    return this.options.leaseTtlMs ?? 30_000;
  }

  private onClient<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.db.withClient(async (run) => work({ query: run } as unknown as pg.ClientBase));
  }
}

/** How long a host looks for whether a write whose acknowledgement was lost committed. */
const LANDED_WITHIN_MS = 10_000;

/**
 * Whether this host's write `writeId` committed: asked again (a fresh connection each time) until
 * the database answers or `withinMs` has passed; undefined when it could not be known.
 */
async function landedWrite(db: Database, hostId: string, writeId: string, withinMs: number): Promise<boolean | undefined> {
  const deadline = Date.now() + withinMs;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    try {
      const asked = db.withClient(async (run) => ((await run(landedSql(hostId, writeId, Math.min(2_000, left)))) as pg.QueryResult[])[2].rows[0] as { landed: boolean } | undefined);
      asked.catch(() => {});
      const answer = await Promise.race([asked, sleep(left).then(() => 'late' as const)]);
      if (answer === 'late') return undefined;
      return answer?.landed === true;
    } catch {
      await sleep(Math.min(250 * 2 ** (attempt - 1), 2_000, Math.max(0, deadline - Date.now())));
    }
  }
}

/** An instance (`machine/pid/start ticks/uuid`) of a process of this machine that no longer runs. */
function isGoneLocalProcess(instance: string): boolean {
  const [machine, pid, ticks] = instance.split('/');
  if (machine !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  if (Number(pid) === process.pid) return false;
  if (!isProcessAlive(Number(pid))) return true;
  const now = processStartTicks(Number(pid));
  return Boolean(ticks) && now !== undefined && now !== ticks;
}

interface Snapshot {
  fences: Map<string, number>;
  runs: Map<string, string>;
  state: string;
  outbox: Map<string, string>;
}

function snapshotOf(loaded: Loaded): Snapshot {
  const state = loaded.host?.state ?? {};
  const hostState: HostState = { daemons: state.daemons ?? [], lastPollAt: state.lastPollAt, lastPollError: state.lastPollError, brokenRoutes: state.brokenRoutes, lastApiPort: state.lastApiPort, spend: state.spend };
  return {
    fences: new Map(loaded.live.map(({ record, fence }) => [record.id, fence])),
    runs: new Map(loaded.live.map(({ record }) => [record.id, JSON.stringify({ ...record, host: record.host })])),
    state: loaded.host ? JSON.stringify(hostState) : JSON.stringify({ daemons: [] }),
    outbox: new Map([...groupByRun(loaded.outbox)].map(([runId, entries]) => [runId, JSON.stringify(entries)])),
  };
}

function groupByRun(entries: OutboxEntry[]): Map<string, OutboxEntry[]> {
  const byRun = new Map<string, OutboxEntry[]>();
  for (const entry of entries) byRun.set(entry.runId, [...(byRun.get(entry.runId) ?? []), entry]);
  return byRun;
}
