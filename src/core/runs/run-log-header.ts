import * as v from 'valibot';
import { readLogHead } from '../process/output-log.ts';
import type { RunRecord } from './ledger.ts';

/**
 * A run's log starts with two lines: one that says what the ledger knew of the run when it
 * started, as JSON, and one for humans (time, run, attempt, command). `dispatcher ledger rebuild`
 * reads the first to rebuild a run record from a live agent, or to find a task's last run. It
 * comes first because the command line may be long (a task's name in its arguments).
 */
const MARK = '=== run ';
/** Room for a long task id. */
const HEAD_BYTES = 64 * 1024;

export interface RunLogHeader {
  run: string;
  task: string;
  /** The route (its watched queue). */
  route: string;
  inProgressQueue?: string;
  agent: string;
  attempt: number;
  maxAttempts: number;
  priority?: RunRecord['priority'];
  /** When the run was reserved (ISO 8601). */
  createdAt: string;
}

/** The header of a run's log; `launch` is the command line it starts. */
export function formatRunLogHeader(run: RunRecord, launch: string): string {
  const fields: RunLogHeader = {
    run: run.id,
    task: run.taskId,
    route: run.route,
    inProgressQueue: run.inProgressQueue,
    agent: run.agent,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    priority: run.priority,
    createdAt: run.createdAt,
  };
  return `${MARK}${JSON.stringify(fields)}\n=== ${new Date().toISOString()} run ${run.id} attempt ${run.attempt}/${run.maxAttempts}: ${launch}`;
}

const count = v.pipe(v.number(), v.integer(), v.minValue(1));
const headerSchema = v.object({
  run: v.pipe(v.string(), v.minLength(1)),
  task: v.string(),
  route: v.string(),
  inProgressQueue: v.optional(v.string()),
  agent: v.string(),
  attempt: count,
  maxAttempts: count,
  priority: v.optional(v.picklist(['CRITICAL', 'HIGH', 'NORMAL', 'LOW'])),
  createdAt: v.string(),
});

/** The header a run's log starts with; undefined when there is none (an older dispatcher's log) or it cannot be read. */
export function readRunLogHeader(logFile: string): RunLogHeader | undefined {
  const head = readLogHead(logFile, HEAD_BYTES);
  const end = head?.indexOf('\n') ?? -1;
  if (end < 0 || !head!.startsWith(MARK)) return undefined;
  const line = head!.slice(0, end);
  try {
    const parsed = v.safeParse(headerSchema, JSON.parse(line.slice(MARK.length)));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}
