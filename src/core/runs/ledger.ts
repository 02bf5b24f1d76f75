import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { isProcessAlive } from '../../util/file-lock.ts';
import { JsonFileStore } from '../../util/json-file-store.ts';
import { DamagedLedgerError } from '../../errors.ts';
import { checkLedger } from './ledger-schema.ts';
import { RunHistory } from './run-history.ts';
import type { TokenUsage } from '../../../adapters/types.ts';
import type { PriorityName } from '../../config/types.ts';
import type { OutboxEntry, TrackerWritesState } from './outbox.ts';

export const RUN_STATUSES = [
  'starting', // reserved: claimed or being claimed, agent not started yet
  'running',
  'retry_wait', // failed, another attempt is due at `nextAttemptAt`; the task stays claimed
  'succeeded',
  'needs_attention', // exited well, but the agent was refused tools; the task was left for a human
  'failed',
  'timed_out',
  'start_failed',
  'lost', // its process vanished while no dispatcher watched it
  'stopped', // stopped from outside: `dispatcher stop`, the API, the dashboard, run --stop-agents
  'cancelled', // its task left the in-progress queue (moved by someone else, or deleted): agent stopped
  'stalled', // its output did not grow for stall_timeout: agent stopped
  'over_budget', // it spent more than max_cost_usd or max_tokens: agent stopped
  'claim_failed', // the tracker refused the claim; nothing was started
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Outcomes of a run supervision (or a person) ended; see src/core/supervise/. */
export type StopOutcome = 'stopped' | 'cancelled' | 'stalled' | 'over_budget';

/**
 * A stop decided for a run, written before its agent is signalled: whichever dispatcher process
 * settles the run reads it, so the outcome survives the stopper's and the owner's death alike.
 */
export interface StopRequest {
  outcome: StopOutcome;
  /** One line for humans, also the comment's reason. */
  reason: string;
  /** `stop --release`: move the task back to the route's watched queue once the agent is gone. */
  release?: boolean;
  /** The task was deleted: there is nothing to comment on. */
  taskDeleted?: boolean;
  /** With coordination: the host whose operator asked, when it is not the run's own (its owner acts on it at its next heartbeat). */
  fromHost?: string;
  /** ISO 8601. */
  at: string;
}

export const ACTIVE: ReadonlySet<RunStatus> = new Set(['starting', 'running', 'retry_wait']);
/** Statuses that hold a slot. */
export const OCCUPYING: ReadonlySet<RunStatus> = new Set(['starting', 'running']);

export interface RunOwner {
  pid: number;
  /** Distinguishes a recycled pid. */
  instance: string;
}

export interface RunRecord {
  id: string;
  taskId: string;
  taskName: string;
  taskUrl: string;
  /** The route (its watched queue). */
  route: string;
  inProgressQueue?: string;
  agent: string;
  attempt: number;
  maxAttempts: number;
  /** The task's priority when it was claimed. */
  priority?: PriorityName;
  status: RunStatus;
  /** The dispatcher process that supervises it; undefined once detached. */
  owner?: RunOwner;
  detached?: boolean;
  pid?: number;
  pgid?: number;
  /** Kernel start time of the agent, against pid reuse. */
  startTicks?: string;
  createdAt: string;
  startedAt?: string;
  /** Epoch ms; undefined: no limit. */
  deadline?: number;
  timeoutMs?: number;
  endedAt?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** One line for humans: "exit 1", "timed out after 30s", "command not found: x". */
  outcome?: string;
  nextAttemptAt?: number;
  logFile?: string;
  /** Where the agent's waiter writes its exit status (src/core/process/exit-status.ts). */
  exitFile?: string;
  cwd?: string;
  /** The task's workspace (`[workspace]`), and its git branch when it is a worktree. */
  workspace?: string;
  branch?: string;
  /** sha256 of the run's API token, so it survives a daemon restart without being stored. */
  tokenHash?: string;
  sessionId?: string;
  costUsd?: number;
  turns?: number;
  tokens?: TokenUsage;
  apiRetries?: number;
  resumeHint?: string;
  /** Tools the agent was refused, by name (Claude's permission denials). */
  deniedTools?: string[];
  /** Set once a stop is decided (see StopRequest). */
  stopRequest?: StopRequest;
  /** The queue the agent last moved its own task to, through its run token. */
  agentMovedTo?: string;
  /** Why the run was put in the ledger by `dispatcher ledger rebuild` with no agent: the reason given when it is settled as lost. */
  recoveryNote?: string;
  /** Whether the tracker has taken the changes its outcome owes it (src/core/runs/outbox.ts). */
  trackerWrites?: TrackerWritesState;
  /** With coordination: the host the run belongs to. */
  host?: string;
  /** With coordination: the host whose lease ran out while this run was active there (it was taken over). */
  takenOverFrom?: string;
}

/** What finished runs cost on one local calendar day (for daily_budget_usd). */
export interface DaySpend {
  /** Local date, YYYY-MM-DD. */
  day: string;
  costUsd: number;
}

/** A route the daemon paused because one of its queues cannot be resolved (see src/core/dispatch/route-health.ts). */
export interface BrokenRoute {
  /** The route's watched queue, which names it. */
  route: string;
  /** The queue that cannot be resolved: the watched one or the in-progress one. */
  queue: string;
  reason: string;
  /** ISO 8601: paused since. */
  since: string;
}

export interface LedgerData {
  version: 1;
  runs: RunRecord[];
  lastPollAt?: string;
  lastPollError?: string;
  /** Routes paused at the last poll, for `status` in another process. */
  brokenRoutes?: BrokenRoute[];
  /** Processes dispatching from this ledger (`run`, `poll-once`); startTicks tells a reused pid. */
  daemons: Array<RunOwner & { startedAt: string; startTicks?: string; apiUrl?: string; mode: string; /** Its max_concurrent_agents, for the cluster's free slots. */ maxAgents?: number }>;
  /** Tracker changes owed, oldest first; a finished run stays here (not in runs.jsonl) until they are done. */
  outbox?: OutboxEntry[];
  /** The port the agent API last listened on: with api_port = 0 a restart comes back on it. */
  lastApiPort?: number;
  /** Cost recorded by runs that ended today (local time). */
  spend?: DaySpend;
  /** With coordination: what other hosts run (read-only; changes to it are not written). */
  cluster?: ClusterView;
}

/** Another host's active run, as much as slot counting needs. */
export interface ClusterRun {
  id: string;
  taskId: string;
  route: string;
  host: string;
  status: RunStatus;
  /** The tracker's key (see src/core/runs/postgres/tracker-key.ts): a task id means something only within its tracker. */
  tracker: string;
  /** What the dashboard shows of another host's agent (null where its record has none yet). */
  taskName?: string;
  taskUrl?: string;
  agent?: string;
  startedAt?: string;
}

export interface ClusterView {
  /** This host's name. */
  hostId: string;
  /** This host's tracker key. */
  tracker: string;
  /** The active runs of every other host. */
  runs: ClusterRun[];
  /**
   * Runs of this tracker (any host) no longer active whose row changed within `endedWithinMs`
   * before the load, with the age of that change by the database's clock: a task polled before
   * such a change may have been run meanwhile (see reserveIn).
   */
  ended?: EndedRun[];
  endedWithinMs?: number;
}

/** A run that is no longer active, and how long ago its row last changed (the database's clock, at the load). */
export interface EndedRun {
  taskId: string;
  host: string;
  ageMs: number;
}

export interface UpdateOptions {
  cluster?: boolean;
}

/**
 * The durable truth of active runs and the run history, behind one small contract with two
 * implementations: {@link FileLedger} (`<state_dir>`, one host, the default) and PostgresLedger
 * (src/core/runs/postgres/postgres-ledger.ts, several hosts). The router, recovery, the outbox and
 * supervision see only this. `data.runs` is this host's runs (active and the newest finished);
 * other hosts' active runs are in `data.cluster`, read-only.
 */
export interface Ledger {
  /** The process supervising runs through this ledger. */
  readonly owner: RunOwner;
  /** Where the ledger is, for messages. */
  readonly where: string;
  /** Active runs and the newest finished ones, as one view. Shared between readers: do not mutate it. */
  read(): Promise<LedgerData>;
  /**
   * Read-modify-write, atomic against every other process; a burst of changes is one write.
   * `change` (synchronous) sees finished and active runs alike; what it returns is resolved once written.
   * `cluster`: the change decides over every host's runs (a reservation, a retry's start): it gets
   * `data.cluster` and is serialised with every host's such changes. Other changes touch only this
   * host's runs and are serialised with this host's writes alone.
   */
  update<T>(change: (data: LedgerData) => T, options?: UpdateOptions): Promise<T>;
  patch(runId: string, fields: Partial<RunRecord>): Promise<RunRecord | undefined>;
  /** Records `fields` with the next write, or within 50 ms: for what may wait a moment (an agent's pid). */
  patchSoon(runId: string, fields: Partial<RunRecord>): void;
  close(): Promise<void>;
}

/** Finished runs kept for `status` and the dashboard. */
const HISTORY = 200;
/** A change waiting for the next write, and its caller. */
interface Queued {
  change: (data: LedgerData) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The longest a {@link Ledger.patchSoon} waits for another write to join. */
const SOON_MS = 50;

/**
 * The ledger of one host in files: active runs in `<state_dir>/ledger.json`, finished ones in
 * `<state_dir>/runs.jsonl` (src/core/run-history.ts). Written before a spawn and after an exit,
 * under an inter-process lock with atomic writes; read at start-up to adopt or settle what an
 * earlier process left. Concurrency is counted from it, so overlapping `poll-once` runs, a daemon
 * and restarts all agree.
 */
export class FileLedger implements Ledger {
  readonly file: string;
  readonly owner: RunOwner = { pid: process.pid, instance: randomUUID() };
  private readonly store: JsonFileStore<LedgerData>;
  private readonly history: RunHistory;
  /** Runs finished by changes whose write is under way: still part of every view until appended. */
  private finishing: RunRecord[] = [];
  private view?: { active: LedgerData; recent: RunRecord[]; merged: LedgerData };
  /** Fields waiting to go with the next write (see patchSoon). */
  private soon = new Map<string, Partial<RunRecord>>();
  private soonTimer: NodeJS.Timeout | undefined;
  private carried = new Map<string, Partial<RunRecord>>();
  /** Changes waiting for the next write (see update). */
  private queued: Queued[] = [];

  get where(): string {
    return this.file;
  }

  async close(): Promise<void> {}

  constructor(readonly stateDir: string) {
    this.file = join(stateDir, 'ledger.json');
    this.history = new RunHistory(join(stateDir, 'runs.jsonl'), HISTORY);
    this.store = new JsonFileStore<LedgerData>(this.file, {
      parse: (text) => parseLedger(this.file, text),
      empty,
      serialize: (data) => `${JSON.stringify(data)}\n`,
      mode: 0o600,
      afterWrite: () => {
        this.written();
        try {
          this.history.append(this.finishing);
          this.finishing = [];
        } catch {
          // runs.jsonl could not take them (a full disk): they stay in every view and go with the next write.
        }
      },
    });
  }

  /** Active runs (from ledger.json) and the newest finished ones (from runs.jsonl), as one view. */
  async read(): Promise<LedgerData> {
    const active = await this.store.read();
    const recent = this.history.recent();
    if (this.view?.active !== active || this.view.recent !== recent) {
      this.view = { active, recent, merged: { ...active, runs: [...recent, ...active.runs] } };
    }
    return this.view.merged;
  }

  /**
   * Read-modify-write under the lock; a burst of changes is one write. `change` (synchronous) sees
   * finished and active runs alike; runs it finishes move to the history after the ledger is written.
   */
  update<T>(change: (data: LedgerData) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ change, resolve: resolve as (value: unknown) => void, reject });
      // The first change of a burst asks the store for a write; the others join it.
      if (this.queued.length > 1) return;
      let taken: Queued[] | undefined;
      let finished: RunRecord[] = [];
      this.store
        .update((stored) => {
          taken = this.queued;
          this.queued = [];
          const applied = this.apply(taken, stored);
          finished = applied.finished;
          return applied.deliver;
        })
        .then(
          (deliver) => deliver(),
          (error: unknown) => {
            // Nothing of it reached the disk (a full disk, an unreadable file): neither did the runs it finished.
            this.finishing = this.finishing.filter((run) => !finished.includes(run));
            // Failed before it took the queue (lock, unreadable file): everything queued waited on it.
            const failed = taken ?? this.queued.splice(0);
            for (const { reject } of failed) reject(error);
          },
        );
    });
  }

  /** Applies a batch of changes to one view of the runs (built once per write, not per change). */
  private apply(batch: Queued[], stored: LedgerData): { deliver: () => void; finished: RunRecord[] } {
    const history = [...this.history.recent(), ...this.finishing];
    const known = new Set(history.map((run) => run.id));
    const data: LedgerData = { ...stored, runs: [...history, ...stored.runs] };
    this.applySoon(data.runs);
    const results = batch.map(({ change }) => {
      try {
        return { ok: true, value: change(data) };
      } catch (error) {
        return { ok: false, value: error };
      }
    });
    // A finished run stays in the ledger while the tracker is owed changes for it.
    const owed = new Set(data.outbox?.map((entry) => entry.runId));
    const kept = (run: RunRecord) => ACTIVE.has(run.status) || (owed.has(run.id) && !known.has(run.id));
    const finished = data.runs.filter((run) => !kept(run) && !known.has(run.id));
    Object.assign(stored, data, { runs: data.runs.filter(kept) });
    if (stored.outbox?.length === 0) delete stored.outbox;
    this.finishing.push(...finished);
    // Each caller hears of its own change once the write is done.
    return { finished, deliver: () => batch.forEach(({ resolve, reject }, index) => (results[index].ok ? resolve : reject)(results[index].value)) };
  }

  /**
   * Records `fields` with the next write, or within {@link SOON_MS}: for what may wait a moment,
   * such as the pid of an agent just started (recovery finds an agent whose pid never reached the
   * ledger by its DISPATCHER_RUN_ID). On a busy host it shares a write with the outcomes of earlier
   * runs instead of holding them up behind a write of its own.
   */
  patchSoon(runId: string, fields: Partial<RunRecord>): void {
    this.soon.set(runId, { ...this.soon.get(runId), ...fields });
    this.soonTimer ??= setTimeout(() => {
      this.soonTimer = undefined;
      if (this.soon.size > 0) this.update(() => {}).catch(() => {}); // kept for the next write
    }, SOON_MS);
  }

  /** Applies what waits in `soon` to active runs; it leaves `soon` once a write has carried it. */
  private applySoon(runs: RunRecord[]): void {
    if (this.soon.size === 0) return;
    for (const run of runs) {
      const fields = this.soon.get(run.id);
      if (fields && ACTIVE.has(run.status)) Object.assign(run, fields);
    }
    this.carried = new Map(this.soon);
  }

  /** After a write: what it carried is on disk. */
  private written(): void {
    for (const [id, fields] of this.carried) if (this.soon.get(id) === fields) this.soon.delete(id);
    this.carried.clear();
    if (this.soon.size === 0) {
      clearTimeout(this.soonTimer);
      this.soonTimer = undefined;
    }
  }

  async patch(runId: string, fields: Partial<RunRecord>): Promise<RunRecord | undefined> {
    return this.update((data) => {
      const run = data.runs.find((candidate) => candidate.id === runId);
      if (run) Object.assign(run, fields);
      return run ? { ...run } : undefined;
    });
  }
}

function parseLedger(file: string, text: string): LedgerData {
  const checked = checkLedger(text);
  if (!checked.ok) throw new DamagedLedgerError(file, checked.problem);
  return checked.data;
}

export function isOwnerAlive(owner: RunOwner | undefined, self: RunOwner): boolean {
  if (!owner) return false;
  if (owner.instance === self.instance) return true;
  return owner.pid !== self.pid && isProcessAlive(owner.pid);
}

function empty(): LedgerData {
  return { version: 1, runs: [], daemons: [] };
}
