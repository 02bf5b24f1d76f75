import type { PriorityName } from '../../config/types.ts';
import type { StaleTaskFile } from './stale.ts';

/**
 * What `dispatch-file` is doing, for humans: a plain object the loop updates and anyone may
 * subscribe to (the dashboard pushes it over SSE). It holds no secret: only logins, ids, titles,
 * paths and times.
 */
export interface DispatchRecord {
  /** ISO 8601. */
  at: string;
  assignee: string;
  taskId: string;
  title: string;
  priority: PriorityName;
  url: string;
  file: string;
}

export interface TrackerHealth {
  /** unknown before the first poll; degraded when some repositories failed; down when all did. */
  status: 'unknown' | 'ok' | 'degraded' | 'down';
  consecutiveFailures: number;
  lastOkAt?: string;
  lastError?: string;
}

export interface RateLimitView {
  ratePerMinute: number;
  capacity: number;
  windowMs: number;
  available: number;
  /** ISO 8601; when the next dispatch is allowed. */
  nextSlotAt?: string;
}

export interface AssigneeView {
  /** Task files in the assignee's folder. */
  files: number;
  /** Dispatches waiting for the rate limit. */
  waiting: number;
}

export interface CycleView {
  at: string;
  durationMs: number;
  openTasks: number;
  dispatched: number;
  alreadyDispatched: number;
  unassigned: number;
  waiting: number;
  errors: number;
}

export interface DispatchSnapshot {
  startedAt: string;
  mode: 'loop' | 'once' | 'dry-run';
  repos: string[];
  tasksDir: string;
  intervalMs: number;
  /** Newest first. */
  recent: DispatchRecord[];
  /** Keyed by the assignee's folder name (the login, made safe). */
  assignees: Record<string, AssigneeView>;
  rateLimit?: RateLimitView;
  lastPollAt?: string;
  nextPollAt?: string;
  lastCycle?: CycleView;
  tracker: TrackerHealth;
  totals: { cycles: number; dispatched: number; skipped: number; errors: number };
  /** The latest log lines, oldest first. */
  log: string[];
  /** Task files whose issue was closed or reassigned after they were written (src/core/dispatch-file/stale.ts). */
  stale?: StaleTaskFile[];
}

export interface DispatchStateStore {
  get(): DispatchSnapshot;
  /** Called after every change with the live snapshot (read it, do not keep or change it; get() copies). Returns an unsubscribe function. */
  subscribe(listener: (snapshot: DispatchSnapshot) => void): () => void;
  update(change: (draft: DispatchSnapshot) => void): void;
  recordDispatch(record: DispatchRecord): void;
  appendLog(line: string): void;
}

const RECENT_LIMIT = 100;
const LOG_LIMIT = 500;

export function createDispatchState(initial: Pick<DispatchSnapshot, 'mode' | 'repos' | 'tasksDir' | 'intervalMs'> & { startedAt?: string }): DispatchStateStore {
  const snapshot: DispatchSnapshot = {
    startedAt: initial.startedAt ?? new Date().toISOString(),
    mode: initial.mode,
    repos: [...initial.repos],
    tasksDir: initial.tasksDir,
    intervalMs: initial.intervalMs,
    recent: [],
    assignees: {},
    tracker: { status: 'unknown', consecutiveFailures: 0 },
    totals: { cycles: 0, dispatched: 0, skipped: 0, errors: 0 },
    log: [],
  };
  const listeners = new Set<(snapshot: DispatchSnapshot) => void>();

  function notify(): void {
    for (const listener of listeners) {
      try {
        listener(snapshot);
      } catch {
        // A broken listener (a closed SSE stream) must not stop the dispatcher.
      }
    }
  }

  return {
    get: () => structuredClone(snapshot),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update(change) {
      change(snapshot);
      notify();
    },
    recordDispatch(record) {
      snapshot.recent.unshift(record);
      snapshot.recent.length = Math.min(snapshot.recent.length, RECENT_LIMIT);
      notify();
    },
    appendLog(line) {
      snapshot.log.push(line);
      if (snapshot.log.length > LOG_LIMIT) snapshot.log.splice(0, snapshot.log.length - LOG_LIMIT);
      notify();
    },
  };
}
