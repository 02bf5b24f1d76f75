import { setTimeout as sleep } from 'node:timers/promises';
import type { TrackerAdapter } from '../../../adapters/types.ts';
import type { AppLogger } from '../../log.ts';
import { isAdapterError } from '../../errors.ts';
import { backoffDelay } from '../../util/backoff.ts';
import { redact } from '../../util/redact.ts';
import { isOwnerAlive, type Ledger, type LedgerData, type RunOwner, type RunRecord } from './ledger.ts';

/**
 * The outbox: every change the dispatcher owes a tracker on its own behalf once a task is claimed
 * (a run's comment, its success or failure move...). A change is written to the ledger before it
 * is tried, in the same write as the outcome it comes from, and leaves the ledger once the tracker
 * has taken it; until then it is retried with a capped backoff, by whichever dispatcher process
 * runs (a restart or a `kill -9` loses nothing). The changes of one task are applied in order.
 *
 * Exactly once, as far as the tracker allows: a comment whose earlier try may have reached the
 * tracker (a try that failed, or one made by a process that died before recording it) is first
 * looked for among the task's comments (same text, posted after the change was queued) and only
 * posted when it is not there; a move is only made while the task is still where the run left it.
 */
export type TrackerChange =
  /** A comment on the task. */
  | { kind: 'comment'; text: string }
  /**
   * A move, made only while the task is still in `from` (someone else moved it: the move is
   * skipped). `agentMovedTo`: where the run's agent moved its task itself, if it did.
   */
  | { kind: 'move'; from: string; to: string; agentMovedTo?: string };

export interface OutboxEntry {
  /** `<runId>/<n>`: unique, and in queueing order within the run. */
  id: string;
  runId: string;
  taskId: string;
  change: TrackerChange;
  /** Epoch ms. */
  queuedAt: number;
  /** The process that tries it; another process takes it over only once that one is gone. */
  owner?: RunOwner;
  /** Failed tries so far. */
  tries: number;
  /** Epoch ms: not tried again before then. */
  nextTryAt?: number;
  lastError?: string;
  /** A try may have reached the tracker: look before posting again. */
  uncertain?: boolean;
}

/** What became of a run's tracker changes; recorded with its outcome. */
export type TrackerWritesState = 'pending' | 'done' | 'dropped';

const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** A comment found on the task counts as ours when posted at most this long before the change was queued (clock skew). */
const CLOCK_SKEW_MS = 10 * 60_000;
const retryDelay = (failures: number) => backoffDelay(failures, RETRY_BASE_MS, RETRY_MAX_MS);

/**
 * Queues `changes` for the run inside a ledger change (so they are written with whatever else that
 * write records, the run's outcome above all), and marks the run's tracker writes pending. With no
 * change, the run's writes are done.
 */
export function queueChanges(data: LedgerData, run: RunRecord, changes: TrackerChange[], owner: RunOwner | undefined): OutboxEntry[] {
  if (changes.length === 0) {
    run.trackerWrites ??= 'done';
    return [];
  }
  data.outbox ??= [];
  const taken = data.outbox.filter((entry) => entry.runId === run.id).length;
  const queuedAt = Date.now();
  const entries = changes.map((change, index): OutboxEntry => ({ id: `${run.id}/${taken + index}`, runId: run.id, taskId: run.taskId, change, queuedAt, owner, tries: 0 }));
  data.outbox.push(...entries);
  if (run.trackerWrites !== 'dropped') run.trackerWrites = 'pending';
  return entries;
}

/** What `status` and the dashboard show of the outbox. */
export interface OutboxSummary {
  pending: number;
  /** Tasks with writes pending. */
  tasks: number;
  /** ISO 8601: the earliest retry due; absent while a try is under way or due now. */
  nextTryAt?: string;
  lastError?: string;
  items: Array<{ runId: string; taskId: string; kind: TrackerChange['kind']; to?: string; tries: number; nextTryAt?: string; lastError?: string }>;
}

export function summariseOutbox(data: LedgerData, now = Date.now()): OutboxSummary {
  const entries = data.outbox ?? [];
  const later = entries.map((entry) => entry.nextTryAt ?? 0).filter((at) => at > now);
  const failing = entries.filter((entry) => entry.lastError);
  return {
    pending: entries.length,
    tasks: new Set(entries.map((entry) => entry.taskId)).size,
    ...(later.length > 0 && later.length === entries.length ? { nextTryAt: new Date(Math.min(...later)).toISOString() } : {}),
    ...(failing.length > 0 ? { lastError: failing[failing.length - 1].lastError } : {}),
    items: entries.map((entry) => ({
      runId: entry.runId,
      taskId: entry.taskId,
      kind: entry.change.kind,
      ...(entry.change.kind === 'move' ? { to: entry.change.to } : {}),
      tries: entry.tries,
      ...(entry.nextTryAt ? { nextTryAt: new Date(entry.nextTryAt).toISOString() } : {}),
      ...(entry.lastError ? { lastError: entry.lastError } : {}),
    })),
  };
}

/** How a try ended; `gone`: the task no longer exists, so nothing else owed to it applies either. */
type Result = { entry: OutboxEntry; ended: 'done' | 'dropped' | 'gone' } | { entry: OutboxEntry; ended: 'failed'; error: string };

export interface OutboxDeps {
  ledger: Ledger;
  tracker: TrackerAdapter;
  log: AppLogger;
  /** Something changed that `status` and the dashboard show. */
  changed?(): void;
}

/**
 * Drains the outbox of the ledger: tries every change that is due, task by task in order, and
 * records what the tracker took. One per process; a task already being drained is left to that drain.
 */
export class Outbox {
  /** Tasks being drained by this process. */
  private readonly draining = new Map<string, Promise<void>>();
  /** Results not yet recorded (their write failed): never tried again meanwhile. */
  private readonly unrecorded = new Map<string, Result>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private closed = false;

  constructor(private readonly deps: OutboxDeps) {}

  /** Queues changes for a run in a write of their own, then tries them (the executor queues a run's own with its outcome: {@link queueChanges}). */
  async enqueue(runId: string, changes: TrackerChange[]): Promise<void> {
    const { ledger } = this.deps;
    const queued = await ledger.update((data) => {
      const run = data.runs.find((candidate) => candidate.id === runId);
      if (!run) throw new Error(`no run ${runId} in the ledger`);
      return queueChanges(data, run, changes, ledger.owner);
    });
    if (queued.length > 0) await this.drain({ taskId: queued[0].taskId });
  }

  /**
   * Tries what is due (with `now`, also what waits for its backoff: the tracker is back) and
   * resolves once those tries are over and recorded. With `taskId`, only that task's changes, and
   * after any drain of that task already under way.
   */
  async drain(options: { taskId?: string; now?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    const under = options.taskId === undefined ? undefined : this.draining.get(options.taskId);
    if (under) {
      await under;
      return this.drain(options);
    }
    const { ledger } = this.deps;
    const data = await ledger.read();
    if (!data.outbox?.length && this.unrecorded.size === 0) return;
    const tasks = this.dueTasks(data.outbox ?? [], Date.now(), options);
    if (tasks.length === 0) {
      if (this.unrecorded.size > 0) await this.record([]);
      return this.schedule();
    }
    // Marked at once, so that no other drain of this process picks the same tasks meanwhile.
    let release!: () => void;
    const marker = new Promise<void>((resolve) => (release = resolve));
    for (const { taskId } of tasks) this.draining.set(taskId, marker);
    try {
      const foreign = tasks.filter(({ entries }) => entries.some((entry) => entry.owner?.instance !== ledger.owner.instance)).map(({ taskId }) => taskId);
      const taken = foreign.length > 0 ? await this.takeOver(foreign, options) : new Map<string, OutboxEntry[]>();
      await Promise.all(
        tasks.map(({ taskId, entries }) => {
          const mine = foreign.includes(taskId) ? taken.get(taskId) : entries;
          return mine ? this.drainTask(mine) : undefined;
        }),
      );
    } finally {
      for (const { taskId } of tasks) if (this.draining.get(taskId) === marker) this.draining.delete(taskId);
      release();
    }
    this.schedule();
  }

  /**
   * Drains, and keeps retrying what fails until `withinMs` is over (a `poll-once` about to exit);
   * resolves with the number of changes still owed that this process could have tried.
   */
  async drainWithin(withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      await this.drain();
      const left = ((await this.deps.ledger.read()).outbox ?? []).filter((entry) => this.mayTry(entry));
      if (left.length === 0 && this.unrecorded.size === 0) return 0;
      const next = Math.max(Date.now() + 50, Math.min(...left.map((entry) => entry.nextTryAt ?? 0)));
      if (next >= deadline) return left.length;
      await sleep(next - Date.now());
    }
  }

  /** Stops retrying and gives this process's changes up, so that the next process takes them at once. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([...this.draining.values()]);
    if (this.unrecorded.size > 0) await this.record([]);
    const { ledger } = this.deps;
    const mine = (entry: OutboxEntry) => entry.owner?.instance === ledger.owner.instance;
    if (!(await ledger.read()).outbox?.some(mine)) return;
    await ledger.update((data) => {
      for (const entry of data.outbox ?? []) if (mine(entry)) entry.owner = undefined;
    });
  }

  /** The tasks whose first change is due and may be tried by this process, each with all its changes. */
  private dueTasks(entries: OutboxEntry[], now: number, options: { taskId?: string; now?: boolean }): Array<{ taskId: string; entries: OutboxEntry[] }> {
    const byTask = new Map<string, OutboxEntry[]>();
    for (const entry of entries) {
      if (options.taskId !== undefined && entry.taskId !== options.taskId) continue;
      const list = byTask.get(entry.taskId);
      if (list) list.push(entry);
      else byTask.set(entry.taskId, [entry]);
    }
    return [...byTask]
      .filter(([taskId, list]) => !this.draining.has(taskId) && !list.some((entry) => this.unrecorded.has(entry.id)) && this.mayTry(list[0]) && (options.now || (list[0].nextTryAt ?? 0) <= now))
      .map(([taskId, list]) => ({ taskId, entries: list }));
  }

  private mayTry(entry: OutboxEntry): boolean {
    const self = this.deps.ledger.owner;
    return entry.owner === undefined || entry.owner.instance === self.instance || !isOwnerAlive(entry.owner, self);
  }

  /**
   * Makes this process the owner of the tasks' changes, under the ledger's lock, so that two
   * processes never try the same change. A change taken from another process may have been tried.
   */
  private takeOver(taskIds: string[], options: { now?: boolean }): Promise<Map<string, OutboxEntry[]>> {
    const { ledger } = this.deps;
    return ledger.update((data) => {
      const taken = new Map<string, OutboxEntry[]>();
      for (const taskId of taskIds) {
        const entries = (data.outbox ?? []).filter((entry) => entry.taskId === taskId);
        if (entries.length === 0 || !this.mayTry(entries[0]) || (!options.now && (entries[0].nextTryAt ?? 0) > Date.now())) continue;
        for (const entry of entries) {
          if (entry.owner?.instance !== ledger.owner.instance) entry.uncertain = true;
          entry.owner = ledger.owner;
        }
        taken.set(taskId, entries.map((entry) => ({ ...entry })));
      }
      return taken;
    });
  }

  /** Tries a task's changes in order, up to the first that fails; then records what happened. */
  private async drainTask(entries: OutboxEntry[]): Promise<void> {
    const results: Result[] = [];
    for (const [index, entry] of entries.entries()) {
      const result = await this.apply(entry);
      results.push(result);
      if (result.ended === 'gone') {
        results.push(...entries.slice(index + 1).map((rest): Result => ({ entry: rest, ended: 'gone' })));
        break;
      }
      if (result.ended === 'failed') break;
    }
    await this.record(results);
  }

  private async apply(entry: OutboxEntry): Promise<Result> {
    const { tracker, log } = this.deps;
    const { taskId, change } = entry;
    const what = change.kind === 'comment' ? `comment on task ${taskId}` : `move of task ${taskId} to "${change.to}"`;
    try {
      if (change.kind === 'comment') {
        if (entry.uncertain && (await this.alreadyPosted(entry, change.text))) log.info(`the ${what} was posted by an earlier try; not posting it again`);
        else await tracker.addComment(taskId, change.text);
      } else {
        const task = await tracker.getTask(taskId);
        if (task.queue === change.from) await tracker.moveTask(taskId, change.to);
        else if (task.queue !== change.to) log.info(`task ${taskId} is in "${task.queue}" (${task.queue === change.agentMovedTo ? 'the agent moved it' : 'moved while its agent ran, or since'}); leaving it there`);
      }
      if (entry.tries > 0) log.info(`${what} done after ${entry.tries} failed ${entry.tries === 1 ? 'try' : 'tries'}`);
      return { entry, ended: 'done' };
    } catch (error) {
      const message = redact((error as Error)?.message ?? String(error));
      if (isAdapterError(error, 'not_found') && (await this.taskIsGone(taskId))) {
        log.warn(`task ${taskId} no longer exists; dropping the ${what} and anything else still owed to it`);
        return { entry, ended: 'gone' };
      }
      if (isAdapterError(error, 'invalid')) {
        log.warn(`the tracker refused the ${what} (${message}); dropping it`);
        return { entry, ended: 'dropped' };
      }
      const tries = entry.tries + 1;
      // One warning per backoff step (after 1, 2, 4, 8... failures), not one per try.
      if ((tries & (tries - 1)) === 0) log.warn(`could not do the ${what} (${tries} ${tries === 1 ? 'try' : 'tries'}; retrying in ${Math.ceil(retryDelay(tries) / 1000)}s): ${message}`);
      return { entry, ended: 'failed', error: message };
    }
  }

  /** Is our comment on the task already? (Its text, posted after the change was queued, less clock skew.) */
  private async alreadyPosted(entry: OutboxEntry, text: string): Promise<boolean> {
    const task = await this.deps.tracker.getTask(entry.taskId);
    const wanted = text.trim();
    return task.comments.some((comment) => comment.text.trim() === wanted && (comment.createdAt === '' || Date.parse(comment.createdAt) >= entry.queuedAt - CLOCK_SKEW_MS));
  }

  private async taskIsGone(taskId: string): Promise<boolean> {
    try {
      await this.deps.tracker.getTask(taskId);
      return false;
    } catch (error) {
      return isAdapterError(error, 'not_found');
    }
  }

  /**
   * Writes what the tries did: changes the tracker took (or that no longer apply) leave the outbox,
   * and a run whose changes are all gone records whether they were done or dropped; failed ones
   * wait for their backoff. A failed write keeps the results for the next one.
   */
  private async record(results: Result[]): Promise<void> {
    for (const result of results) this.unrecorded.set(result.entry.id, result);
    if (this.unrecorded.size === 0) return;
    const batch = new Map(this.unrecorded);
    const { ledger } = this.deps;
    try {
      await ledger.update((data) => {
        const outbox = data.outbox ?? [];
        const dropped = new Set<string>();
        data.outbox = outbox.filter((entry) => {
          const result = batch.get(entry.id);
          if (!result) return true;
          if (result.ended === 'failed') {
            entry.tries = result.entry.tries + 1;
            entry.nextTryAt = Date.now() + retryDelay(entry.tries);
            entry.lastError = result.error;
            entry.uncertain = true;
            return true;
          }
          if (result.ended !== 'done') dropped.add(entry.runId);
          return false;
        });
        const owed = new Set(data.outbox.map((entry) => entry.runId));
        const touched = new Set([...batch.values()].map((result) => result.entry.runId));
        for (const run of data.runs) {
          if (!touched.has(run.id)) continue;
          if (dropped.has(run.id)) run.trackerWrites = 'dropped';
          else if (!owed.has(run.id) && run.trackerWrites === 'pending') run.trackerWrites = 'done';
        }
      });
      for (const id of batch.keys()) this.unrecorded.delete(id);
    } catch (error) {
      this.deps.log.warn(`could not record tracker writes in the ledger (will try again): ${redact((error as Error).message)}`);
    }
    this.deps.changed?.();
  }

  /** Wakes up for the next retry of this process (or to record results a failed write kept). */
  private schedule(): void {
    if (this.closed) return;
    void this.deps.ledger.read().then((data) => {
      const mine = (data.outbox ?? []).filter((entry) => this.mayTry(entry) && !this.unrecorded.has(entry.id));
      let at = mine.length > 0 ? Math.min(...mine.map((entry) => entry.nextTryAt ?? 0)) : undefined;
      if (this.unrecorded.size > 0) at = Math.min(at ?? Infinity, Date.now() + RETRY_BASE_MS);
      if (at === undefined || this.closed) return;
      if (this.timer && this.timerAt <= at) return;
      clearTimeout(this.timer);
      this.timerAt = at;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.drain().catch((error) => this.deps.log.warn(`tracker writes: ${redact((error as Error).message)}`));
      }, Math.max(0, at - Date.now()));
      this.timer.unref();
    }, () => {});
  }
}
