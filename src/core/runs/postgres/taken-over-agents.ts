import type { AppLogger } from '../../../log.ts';
import { redact } from '../../../util/redact.ts';
import { ACTIVE, type RunStatus } from '../ledger.ts';
import { findRunAgents, type RunAgent } from '../../process/run-agents.ts';
import { readProcStat, terminateProcessGroup } from '../../process/process-group.ts';
import type { Database } from './database.ts';

/**
 * Agents of this host whose runs are no longer this host's: a daemon killed while its agents ran
 * on, restarted after another host took its runs over (or a daemon whose lease was taken, for the
 * groups its supervision did not know, such as one an agent started with setsid). They run
 * unwatched: the task is retried elsewhere meanwhile, and they could still push branches or write
 * files. Found through /proc by their run ids, judged by the database's rows, stopped whole
 * (TERM → kill_grace → KILL) without a word written about their runs: those are another host's.
 */
export interface TakenOverAgentsOptions {
  db: Pick<Database, 'query'>;
  hostId: string;
  stateDir: string;
  killGraceMs: number;
  log: AppLogger;
}

/** What the database says of an agent's run. */
export interface RunRow {
  hostId: string;
  status: RunStatus;
  taskId: string;
  takenOverFrom?: string;
  /** The record names a process: an agent the run's holder started (or adopted) itself. */
  hasAgent: boolean;
}

export type AgentVerdict = 'adopt' | 'stop' | 'unknown' | 'leave';

/**
 * Whether an agent found in this host's state_dir must be stopped: only when its run was taken over
 * from this host. An agent started with coordination carries its host's name (DISPATCHER_HOST_ID):
 * this host's agent is stopped once its run belongs to another host. Another host's agent (two
 * hosts sharing a state_dir) is never touched, nor one of a run that is still this host's (recovery
 * adopts it) or ended as this host's (left as the file ledger leaves it). An agent
 * without the name (started by an older build) is stopped only when the record says its run was
 * taken over from this host and no agent was picked up there (settled, or still waiting to be).
 */
export function judgeAgent(agent: Pick<RunAgent, 'vars'>, row: RunRow | undefined, hostId: string): AgentVerdict {
  if (!row) return 'unknown';
  if (row.hostId === hostId) return ACTIVE.has(row.status) ? 'adopt' : 'leave';
  const startedBy = agent.vars.DISPATCHER_HOST_ID;
  if (startedBy !== undefined) return startedBy === hostId ? 'stop' : 'leave';
  return row.takenOverFrom === hostId && (!ACTIVE.has(row.status) || !row.hasAgent) ? 'stop' : 'leave';
}

/**
 * Finds this state_dir's live agents whose runs this host no longer holds and stops them; resolves
 * once their groups are gone, with how many runs' agents were stopped. Agents of runs the database
 * does not know are left alone, with a warning (something else may share the state_dir).
 */
export async function stopTakenOverAgents(options: TakenOverAgentsOptions): Promise<number> {
  const { db, hostId, log } = options;
  const { agents } = findRunAgents(options.stateDir);
  if (agents.length === 0) return 0;
  const { rows } = await db.query<{ id: string; host_id: string; status: RunStatus; task_id: string; taken_over_from: string | null; has_agent: boolean }>(
    `select id, host_id, status, task_id, record->>'takenOverFrom' as taken_over_from, (record ? 'pid' or record ? 'pgid') as has_agent
     from dispatcher_runs where id = any($1)`,
    [agents.map((agent) => agent.runId)],
  );
  const byId = new Map(rows.map((row) => [row.id, { hostId: row.host_id, status: row.status, taskId: row.task_id, takenOverFrom: row.taken_over_from ?? undefined, hasAgent: row.has_agent }]));
  const ownGroup = readProcStat(process.pid)?.pgrp;
  const stops: Array<Promise<void>> = [];
  for (const agent of agents) {
    const row = byId.get(agent.runId);
    const verdict = judgeAgent(agent, row, hostId);
    if (verdict === 'unknown') {
      log.warn(`an agent in ${options.stateDir} [pid ${agent.pid}] carries run id ${agent.runId}${agent.vars.DISPATCHER_TASK_ID ? ` (task ${agent.vars.DISPATCHER_TASK_ID})` : ''}, which the cluster's database does not know: left alone`);
    }
    if (verdict !== 'stop' || !row) continue;
    const groups = [agent.pgid, ...agent.otherGroups].filter((pgid) => pgid > 1 && pgid !== ownGroup);
    stops.push(
      Promise.all(groups.map((pgid) => terminateProcessGroup(pgid, { graceMs: options.killGraceMs }))).then(
        (results) =>
          log.warn(
            `stopped the agent of run ${agent.runId} (task ${row.taskId}) [pid ${agent.pid}]: the run was taken over by host "${row.hostId}"; nothing recorded for it here${results.some((result) => result.killed) ? ' (it needed SIGKILL)' : ''}`,
          ),
        (error) => log.error(`could not stop the agent of run ${agent.runId} (task ${row.taskId}) [pid ${agent.pid}]: ${redact((error as Error).message)}`),
      ),
    );
  }
  await Promise.all(stops);
  return stops.length;
}
