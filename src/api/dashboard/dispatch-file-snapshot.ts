import { relative, sep } from 'node:path';
import type { DispatchSnapshot } from '../../core/dispatch-file/state.ts';
import type { StaleTaskFile } from '../../core/dispatch-file/stale.ts';
import { redact } from '../../util/redact.ts';
import { taskRef } from './task-view.ts';
import type { DashboardState, GroupsView, RecentItem } from './types.ts';
import type { PushStatus } from '../hooks/push-status.ts';
import { pushView } from './push-view.ts';

export interface DispatchFileStateContext {
  /** Backend type (gitea...). */
  trackerType: string;
  /** `dispatch_file.owner`, when every repository of an owner is watched. */
  owner?: string;
  instance: string;
  now?: number;
  /** Webhook deliveries and the last cycle's trigger. */
  push?: PushStatus;
}

/** The `dispatch-file` daemon's dashboard state, from its state store's snapshot. */
export function buildDispatchFileState(snapshot: DispatchSnapshot, context: DispatchFileStateContext): DashboardState {
  const now = context.now ?? Date.now();
  const recent: RecentItem[] = snapshot.recent.map((record) => {
    const file = relative(snapshot.tasksDir, record.file);
    const shown = file.startsWith('..') ? record.file : file.split(sep).join('/');
    return {
      ...taskRef(record.taskId, record.title, record.url, record.priority),
      id: `${record.taskId}@${record.at}`,
      kind: 'dispatch',
      at: record.at,
      who: record.assignee,
      status: 'dispatched',
      outcome: `wrote ${shown}`,
    };
  });
  const dispatchedTo = new Map<string, number>();
  for (const record of snapshot.recent) dispatchedTo.set(record.assignee, (dispatchedTo.get(record.assignee) ?? 0) + 1);
  const stale = snapshot.stale ?? [];
  const staleIn = new Map<string, typeof stale>();
  for (const entry of stale) staleIn.set(entry.folder, [...(staleIn.get(entry.folder) ?? []), entry]);
  const columns = ['files', 'waiting', 'dispatched', 'stale'];
  const names = new Set([...Object.keys(snapshot.assignees), ...dispatchedTo.keys(), ...staleIn.keys()]);
  const groups: GroupsView = {
    by: 'assignee',
    columns,
    rows: [...names].sort().map((name) => {
      const counted = Object.hasOwn(snapshot.assignees, name) ? snapshot.assignees[name] : undefined;
      const outdated = staleIn.get(name) ?? [];
      return {
        name,
        ...(outdated.length ? { note: `stale: ${outdated.map(staleNote).join(', ')}` } : {}),
        counts: { files: counted?.files ?? 0, waiting: counted?.waiting ?? 0, dispatched: dispatchedTo.get(name) ?? 0, stale: outdated.length },
      };
    }),
  };
  const where = snapshot.repos.length > 0 ? snapshot.repos : context.owner ? [`${context.owner}/*`] : [];
  const rate = snapshot.rateLimit;
  return {
    schema: 1,
    generatedAt: new Date(now).toISOString(),
    instance: context.instance,
    mode: 'dispatch-file',
    detail: snapshot.mode,
    startedAt: snapshot.startedAt,
    uptimeMs: now - Date.parse(snapshot.startedAt),
    pollIntervalMs: snapshot.intervalMs,
    tracker: {
      type: context.trackerType,
      ...(where.length > 0 ? { where: where.length > 3 ? `${where.slice(0, 3).join(', ')} +${where.length - 3}` : where.join(', ') } : {}),
      status: snapshot.tracker.status,
      ...(snapshot.lastPollAt ? { lastPollAt: snapshot.lastPollAt } : {}),
      ...(snapshot.nextPollAt ? { nextPollAt: snapshot.nextPollAt } : {}),
      consecutiveFailures: snapshot.tracker.consecutiveFailures,
      ...(snapshot.tracker.lastError ? { lastError: redact(snapshot.tracker.lastError) } : {}),
      ...pushView(context.push),
    },
    ...(rate ? { rateLimit: { perMinute: rate.ratePerMinute, capacity: rate.capacity, available: rate.available, ...(rate.nextSlotAt ? { nextSlotAt: rate.nextSlotAt } : {}) } } : {}),
    ...(snapshot.lastCycle ? { lastCycle: { ...snapshot.lastCycle } } : {}),
    running: [],
    waiting: [],
    groups,
    recent,
    totals: { ...snapshot.totals },
    daemons: [],
    ...(stale.length ? { staleFiles: stale.map(({ file, taskId, kind, assignees, since }) => ({ file, taskId, kind, ...(assignees ? { assignees } : {}), since })) } : {}),
  };
}

/** `issue-3.md (closed)`, `issue-5.md (now greta)`. */
function staleNote(entry: StaleTaskFile): string {
  const name = entry.file.slice(entry.folder.length + 1);
  return `${name} (${entry.kind === 'closed' ? 'closed' : `now ${entry.assignees?.length ? entry.assignees.join(', ') : 'nobody'}`})`;
}
