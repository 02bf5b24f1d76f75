import type { HookCommand, HookName } from '../../config/types.ts';
import { formatDuration } from '../runs/run-comment.ts';
import { spawnAgent } from '../process/spawner.ts';

/** Where and how a hook runs: the spawner's guarantees (own process group, TERM → KILL, the run's log). */
export interface HookRun {
  cwd: string;
  /** The hook's whole environment (secrets stripped, task data in DISPATCHER_* variables). */
  env: Record<string, string>;
  logFile: string;
  timeoutMs: number;
  killGraceMs: number;
  signal?: AbortSignal;
  /** Called with the hook's process group as soon as it exists. */
  onStarted?(pgid: number): void;
}

export interface HookResult {
  ok: boolean;
  /** "before_run hook failed (exit 3)", "after_create hook timed out after 1m 0s". */
  summary: string;
  /** The end of what the hook printed. */
  tail: string;
}

/** Runs one hook to its end. Never throws: a hook that cannot start is a failed hook. */
export async function runHook(name: HookName, argv: HookCommand, run: HookRun): Promise<HookResult> {
  const running = spawnAgent({
    command: argv[0],
    args: argv.slice(1),
    env: run.env,
    cwd: run.cwd,
    logFile: run.logFile,
    header: `--- ${name} hook: ${argv.join(' ')}`,
    timeoutMs: run.timeoutMs,
    killGraceMs: run.killGraceMs,
    signal: run.signal,
  });
  if (running.pgid) run.onStarted?.(running.pgid);
  const outcome = await running.done;
  const hook = `${name} hook`;
  switch (outcome.kind) {
    case 'exited':
      if (outcome.exitCode === 0) return { ok: true, summary: `${hook} succeeded`, tail: outcome.tail };
      return { ok: false, summary: `${hook} failed (${outcome.exitCode === null ? `killed by ${outcome.signal}` : `exit ${outcome.exitCode}`})`, tail: outcome.tail };
    case 'timed_out':
      return { ok: false, summary: `${hook} timed out after ${formatDuration(run.timeoutMs)}`, tail: outcome.tail };
    case 'start_failed':
      return { ok: false, summary: `${hook} could not start: ${outcome.error}`, tail: '' };
    default:
      return { ok: false, summary: `${hook} stopped (${outcome.stopReason ?? 'aborted'})`, tail: outcome.tail };
  }
}
