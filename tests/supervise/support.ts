import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, waitFor } from '../helpers.ts';
import type { Daemon } from '../cli/support.ts';

export type Board = { queues: Record<string, Array<{ id: string; comments: Array<{ text: string }>; assignees: string[] }>> };
export type Run = { id: string; taskId: string; attempt: number; status: string; pid?: number; pgid?: number; outcome?: string; costUsd?: number };

export const queueOf = (boardFile: string, id: string) => Object.entries(readJson<Board>(boardFile).queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
export const commentsOf = (boardFile: string, id: string) => (Object.values(readJson<Board>(boardFile).queues).flat().find((t) => t.id === id)?.comments ?? []).map((comment) => comment.text);

/** Active runs (ledger.json) and finished ones (runs.jsonl) of a project folder. */
export function allRuns(dir: string): Run[] {
  const ledger = join(dir, '.dispatcher/ledger.json');
  const active = existsSync(ledger) ? readJson<{ runs: Run[] }>(ledger).runs : [];
  const historyFile = join(dir, '.dispatcher/runs.jsonl');
  const history = existsSync(historyFile) ? readFileSync(historyFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Run) : [];
  return [...history, ...active];
}

/** The running run of a task, once its agent has a pid. */
export function runningRun(dir: string, taskId: string, timeoutMs = 15_000): Promise<Run> {
  return waitFor(() => allRuns(dir).find((run) => run.taskId === taskId && run.status === 'running' && run.pid), timeoutMs, `task ${taskId} running`);
}

/** The agent API's URL, from the daemon's log line. */
export async function apiUrlOf(daemon: Daemon): Promise<string> {
  const match = await waitFor(() => /agent API on (http:\/\/\S+?),?\s/.exec(daemon.output()) ?? /API listening on (http:\/\/\S+)/.exec(daemon.output()), 15_000, 'the API URL');
  return match[1].replace(/[,)]$/, '');
}

/** Alive and not a zombie (this sandbox's init may not reap orphans). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pgid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
