import { join } from 'node:path';
import type { Config } from '../../config/types.ts';
import type { WorkspaceRecord } from './records.ts';
import type { HookSetup } from './workspace.ts';

/** Where the before_remove output of removals made outside a run goes (prune, the daemon's sweep). */
export function cleanupLogFile(stateDir: string): string {
  return join(stateDir, 'workspaces.log');
}

/**
 * What before_remove gets when a workspace is removed outside a run (`workspaces prune`, the
 * daemon's and poll-once's sweep): the task as its record knows it, no attempt, no run.
 */
export function cleanupHookSetup(config: Pick<Config, 'stateDir' | 'secretEnv' | 'killGraceMs'>, baseEnv: NodeJS.ProcessEnv, record: Pick<WorkspaceRecord, 'taskId' | 'taskName' | 'route'>): HookSetup {
  return {
    baseEnv,
    secretEnv: config.secretEnv,
    logFile: cleanupLogFile(config.stateDir),
    killGraceMs: config.killGraceMs,
    vars: { DISPATCHER_TASK_ID: record.taskId, DISPATCHER_TASK_NAME: record.taskName, DISPATCHER_QUEUE: record.route },
  };
}
