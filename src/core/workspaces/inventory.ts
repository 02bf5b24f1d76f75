import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { TrackerAdapter } from '../../../adapters/types.ts';
import type { Config, WorkspaceConfig } from '../../config/types.ts';
import { isAdapterError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { isProcessGroupAlive } from '../process/process-group.ts';
import { type LedgerData, OCCUPYING, type RunRecord } from '../runs/ledger.ts';
import { hasActiveRun } from './run-workspace.ts';
import { listRecords, type WorkspaceRecord } from './records.ts';
import { type HookSetup, removeWorkspace } from './workspace.ts';

/** A workspace found on disk, with the settings of the route that made it. */
export interface FoundWorkspace {
  record: WorkspaceRecord;
  settings: WorkspaceConfig;
  root: string;
}

/** Every workspace the config's routes have made, with what `workspaces list` and `prune` judge them by. */
export interface WorkspaceEntry extends FoundWorkspace {
  /** The task's queue now; null: the tracker says it no longer exists; undefined: the tracker could not say. */
  queue?: string | null;
  /** Why the tracker could not say. */
  queueError?: string;
  /** Disk use (undefined when not measured: the daemon's sweep does not). */
  sizeBytes?: number;
  lastRun?: Pick<RunRecord, 'id' | 'status' | 'createdAt' | 'endedAt' | 'outcome'>;
  /** A run of the task is starting, running or waiting to retry. */
  activeRun: boolean;
  /** Processes working in the workspace (an agent, a hook, anyone's shell). */
  pids: number[];
}

type TaskWhereabouts = Pick<WorkspaceEntry, 'queue' | 'queueError'>;

/** The workspaces recorded under every route's root: disk only, no tracker, no ledger. */
export async function findWorkspaces(config: Pick<Config, 'routes'>): Promise<FoundWorkspace[]> {
  const roots = new Map<string, WorkspaceConfig>();
  for (const route of config.routes) if (route.workspace && !roots.has(route.workspace.root)) roots.set(route.workspace.root, route.workspace);
  const byRoute = new Map(config.routes.map((route) => [route.queue, route.workspace]));
  return (await Promise.all([...roots].map(async ([root, settings]) => (await listRecords(root)).map((record) => ({ root, record, settings: byRoute.get(record.route) ?? settings }))))).flat();
}

export async function listWorkspaces(config: Config, tracker: TrackerAdapter, ledger: LedgerData): Promise<WorkspaceEntry[]> {
  return describeWorkspaces(await findWorkspaces(config), ledger, (taskId) => whereIsTask(tracker, taskId), { measure: true });
}

/** Each workspace with where its task is (as `whereIs` says), its runs and the processes in it, and (`measure`) its size. */
export async function describeWorkspaces(found: FoundWorkspace[], ledger: LedgerData, whereIs: (taskId: string) => Promise<TaskWhereabouts> | TaskWhereabouts, options: { measure: boolean }): Promise<WorkspaceEntry[]> {
  const inside = await processesInside(found.map(({ record }) => record.path));
  return Promise.all(
    found.map(async ({ root, record, settings }) => {
      const runs = ledger.runs.filter((run) => run.taskId === record.taskId);
      const last = runs.reduce<RunRecord | undefined>((latest, run) => (!latest || run.createdAt >= latest.createdAt ? run : latest), undefined);
      const agents = runs.filter((run) => OCCUPYING.has(run.status) && run.pgid !== undefined && isProcessGroupAlive(run.pgid)).map((run) => run.pid!);
      return {
        record,
        settings,
        root,
        ...(await whereIs(record.taskId)),
        ...(options.measure ? { sizeBytes: await sizeOf(record.path) } : {}),
        lastRun: last && { id: last.id, status: last.status, createdAt: last.createdAt, endedAt: last.endedAt, outcome: last.outcome },
        activeRun: hasActiveRun(ledger, record.taskId),
        pids: [...new Set([...agents, ...(inside.get(record.path) ?? [])])],
      };
    }),
  );
}

async function whereIsTask(tracker: TrackerAdapter, taskId: string): Promise<TaskWhereabouts> {
  try {
    return { queue: (await tracker.getTask(taskId)).queue };
  } catch (error) {
    if (isAdapterError(error, 'not_found')) return { queue: null };
    return { queueError: redact((error as Error).message) };
  }
}

/** Why `prune` removes a workspace (undefined: it stays), and what keeps one it would remove. */
export function pruneVerdict(entry: WorkspaceEntry): { remove?: string; keep?: string } {
  const reason = entry.queue === null ? 'its task no longer exists' : entry.queue !== undefined && entry.settings.removeWhenIn.includes(entry.queue) ? `its task is in "${entry.queue}"` : undefined;
  if (!reason) return {};
  if (entry.activeRun) return { keep: `${reason}, but a run of it is active or waiting to retry` };
  if (entry.pids.length > 0) return { keep: `${reason}, but process ${entry.pids.join(', ')} is working in it` };
  return { remove: reason };
}

export interface PruneResult {
  path: string;
  taskId: string;
  branch?: string;
  action: 'removed' | 'would remove' | 'kept' | 'failed';
  reason: string;
  /** before_remove failed (the removal went on): its summary. */
  hookFailure?: string;
}

/** Removes (or, dry, only names) the workspaces whose task is in a `remove_when_in` queue or gone. */
export async function pruneWorkspaces(entries: WorkspaceEntry[], setup: (entry: WorkspaceEntry) => HookSetup, dryRun: boolean): Promise<PruneResult[]> {
  const results: PruneResult[] = [];
  for (const entry of entries) {
    const { remove, keep } = pruneVerdict(entry);
    const base = { path: entry.record.path, taskId: entry.record.taskId, ...(entry.record.branch ? { branch: entry.record.branch } : {}) };
    if (keep) results.push({ ...base, action: 'kept', reason: keep });
    if (!remove) continue;
    if (dryRun) {
      results.push({ ...base, action: 'would remove', reason: remove });
      continue;
    }
    try {
      const location = { root: entry.root, key: entry.record.key, path: entry.record.path, branch: entry.record.branch };
      const hook = await removeWorkspace(entry.settings, location, setup(entry), entry.record.taskId);
      const failedHook = hook && !hook.ok ? { hookFailure: hook.summary } : {};
      results.push({ ...base, action: 'removed', reason: hook && !hook.ok ? `${remove}; ${hook.summary}` : remove, ...failedHook });
    } catch (error) {
      results.push({ ...base, action: 'failed', reason: redact((error as Error).message) });
    }
  }
  return results;
}

/** Disk use of a folder, links not followed. */
async function sizeOf(path: string): Promise<number> {
  let total = 0;
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else total += (await lstat(full).catch(() => undefined))?.size ?? 0;
    }
  };
  await walk(path);
  return total;
}

/** The processes whose working folder is in each of `paths` (Linux; none elsewhere). */
async function processesInside(paths: string[]): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  if (paths.length === 0 || process.platform !== 'linux') return found;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  const real = await Promise.all(paths.map(async (path) => [path, await realpath(path).catch(() => path)] as const));
  await Promise.all(
    pids.map(async (pid) => {
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
      if (!cwd) return;
      for (const [path, resolved] of real) {
        if (cwd === resolved || cwd.startsWith(resolved + sep)) found.set(path, [...(found.get(path) ?? []), Number(pid)]);
      }
    }),
  );
  return found;
}
