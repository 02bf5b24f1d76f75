import { openLedger } from '../core/runs/open-ledger.ts';
import { formatDuration } from '../core/runs/run-comment.ts';
import { cleanupHookSetup } from '../core/workspaces/cleanup-hook-setup.ts';
import { listWorkspaces, pruneVerdict, pruneWorkspaces, type PruneResult, type WorkspaceEntry } from '../core/workspaces/inventory.ts';
import type { CommandContext } from './context.ts';

/** `dispatcher workspaces list`: every workspace, its task and where the task is now, size, last run, who works in it. */
export async function listWorkspacesCommand(context: CommandContext): Promise<{ json: unknown; text: string }> {
  const entries = await inventory(context);
  return { json: entries.map(describe), text: renderList(entries) };
}

/** `dispatcher workspaces prune [--dry-run]`. `ok` is false when a removal failed. */
export async function pruneWorkspacesCommand(context: CommandContext, options: { dryRun: boolean }): Promise<{ json: PruneResult[]; text: string; ok: boolean }> {
  const config = context.config();
  const entries = await inventory(context);
  const results = await pruneWorkspaces(entries, (entry) => cleanupHookSetup(config, process.env, entry.record), options.dryRun);
  const text = results.length === 0 ? 'nothing to prune' : results.map((result) => `${result.action}\t${result.taskId}\t${result.path}\t${result.reason}`).join('\n');
  return { json: results, text, ok: results.every((result) => result.action !== 'failed') };
}

async function inventory(context: CommandContext): Promise<WorkspaceEntry[]> {
  const config = context.config();
  const tracker = await context.openTracker();
  const ledger = await openLedger(config);
  try {
    return await listWorkspaces(config, tracker, await ledger.read());
  } finally {
    await ledger.close();
  }
}

function describe(entry: WorkspaceEntry) {
  const { record } = entry;
  return {
    taskId: record.taskId,
    taskName: record.taskName,
    path: record.path,
    branch: record.branch,
    ready: record.ready,
    queue: entry.queue,
    ...(entry.queueError ? { queueError: entry.queueError } : {}),
    sizeBytes: entry.sizeBytes,
    lastRun: entry.lastRun,
    agentPids: entry.pids,
    prune: pruneVerdict(entry).remove ?? null,
  };
}

function renderList(entries: WorkspaceEntry[]): string {
  if (entries.length === 0) return 'no workspaces';
  const rows = entries.map((entry) => {
    const { record, lastRun } = entry;
    const where = entry.queue === null ? '(task gone)' : (entry.queue ?? `? ${entry.queueError ?? ''}`);
    const last = lastRun ? `${lastRun.status} ${lastRun.endedAt ? `${formatDuration(Date.now() - Date.parse(lastRun.endedAt))} ago` : 'now'}` : 'no run';
    const agent = entry.pids.length ? `busy (pid ${entry.pids.join(', ')})` : 'idle';
    return [record.taskId, where, size(entry.sizeBytes ?? 0), last, agent, `${record.path}${record.branch ? ` (${record.branch})` : ''}${record.ready ? '' : ' [not ready]'}`];
  });
  return [['TASK', 'QUEUE', 'SIZE', 'LAST RUN', 'AGENT', 'WORKSPACE'], ...rows].map((cells) => cells.join('\t')).join('\n');
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
