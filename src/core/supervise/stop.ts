import { setTimeout as sleep } from 'node:timers/promises';
import { notFound, UsageError } from '../../errors.ts';
import { type Ledger, type LedgerData, OCCUPYING, type RunRecord, type StopRequest } from '../runs/ledger.ts';
import { terminateProcessGroup } from '../process/process-group.ts';
import { type ElsewhereOptions, findRunElsewhere, stopElsewhere, type StoppedElsewhere } from './stop-elsewhere.ts';

/**
 * Stopping a run, whoever asks (`dispatcher stop`, `POST /runs/{id}/stop`, the dashboard, or
 * supervision itself): the decision is written to the run's ledger record first (its
 * {@link StopRequest}), then the agent's group gets TERM → grace → KILL. Whichever dispatcher
 * process settles the run — its owner, or the next one to find it unwatched — reads the decision
 * and records the outcome, posts the comment, and moves the task back on `--release`. A stop thus
 * reaches a run supervised by another dispatcher process of the host, through the kernel and the
 * ledger, without needing that process's API.
 */

/** The active run `id` names: a run id, or a task id (its running or starting run). */
export function findActiveRun(data: LedgerData, id: string): RunRecord | undefined {
  const occupying = data.runs.filter((run) => OCCUPYING.has(run.status));
  return occupying.find((run) => run.id === id) ?? occupying.find((run) => run.taskId === id);
}

/**
 * Records the stop decision, unless the run has ended or already has one (the first decision
 * stands). Returns the run as recorded, or undefined when it is no longer active.
 */
export async function recordStop(ledger: Ledger, runId: string, request: Omit<StopRequest, 'at'>): Promise<RunRecord | undefined> {
  return ledger.update((data) => {
    const run = data.runs.find((candidate) => candidate.id === runId && OCCUPYING.has(candidate.status));
    if (!run) return undefined;
    run.stopRequest ??= { ...request, at: new Date().toISOString() };
    return { ...run };
  });
}

export interface StopOptions {
  ledger: Ledger;
  /** A run id or a task id. */
  id: string;
  request: Omit<StopRequest, 'at'>;
  killGraceMs: number;
  /** Stops a run this process supervises (its spawner's TERM → grace → KILL); false when it does not. */
  stopLocal?: (runId: string, reason: string) => Promise<boolean>;
  /** With coordination: a run of another host is stopped through the database (stop-elsewhere.ts). */
  elsewhere?: ElsewhereOptions;
}

export interface StopResult {
  /** The run as recorded (settled, for a run of another host that settled in time). */
  run: RunRecord;
  /** Set when the run belongs to another host: which, and whether it settled in the time given. */
  elsewhere?: StoppedElsewhere;
}

/** How long a run without a process group yet (just reserved) is waited for. */
const STARTING_WAIT_MS = 5_000;

/**
 * Decides the stop and ends the agent's group; resolves once the group is gone (a run of another
 * host: once it settled, or the time given ran out). Unknown or finished run: AdapterError
 * 'not_found' (exit 4 / HTTP 404).
 */
export async function stopRun(options: StopOptions): Promise<StopResult> {
  const { ledger, id, request } = options;
  const data = await ledger.read();
  const found = findActiveRun(data, id);
  if (!found) return stopOnAnotherHost(options, data);
  const recorded = await recordStop(ledger, found.id, request);
  if (!recorded) throw notFound(`run ${found.id} of task ${found.taskId} has ended already`);
  if (await options.stopLocal?.(recorded.id, request.reason)) return { run: recorded };
  const pgid = recorded.pgid ?? (await groupOnceStarted(ledger, recorded.id));
  if (pgid === undefined) return { run: recorded }; // it ended meanwhile, or never started: its settlement reads the decision
  await terminateProcessGroup(pgid, { graceMs: options.killGraceMs });
  return { run: recorded };
}

async function stopOnAnotherHost({ ledger, id, request, elsewhere }: StopOptions, data: LedgerData): Promise<StopResult> {
  const other = elsewhere && findRunElsewhere(data, id);
  if (!other) throw notFound(`no running agent for "${id}": give a run id or the id of a task whose agent is running (see \`dispatcher status\`)`);
  const stopped = await stopElsewhere(ledger, other.id, request, elsewhere);
  if (!stopped) throw notFound(`run ${other.id} of task ${other.taskId} (host "${other.host}") has ended already`);
  return { run: stopped.run, elsewhere: stopped };
}

/** A reserved run's process group, once its owner has started the agent (or undefined when it ended first). */
async function groupOnceStarted(ledger: Ledger, runId: string): Promise<number | undefined> {
  const until = Date.now() + STARTING_WAIT_MS;
  while (Date.now() < until) {
    const run = (await ledger.read()).runs.find((candidate) => candidate.id === runId);
    if (!run || !OCCUPYING.has(run.status)) return undefined;
    if (run.pgid !== undefined) return run.pgid;
    await sleep(100);
  }
  throw new UsageError(`run ${runId} has not started its agent after ${STARTING_WAIT_MS / 1000}s; the stop is recorded and applies when it settles`);
}

/** Resolves with the run once it is settled (no longer active), or undefined after `withinMs`. */
export async function waitUntilSettled(ledger: Ledger, runId: string, withinMs: number): Promise<RunRecord | undefined> {
  const until = Date.now() + withinMs;
  for (;;) {
    const run = (await ledger.read()).runs.find((candidate) => candidate.id === runId);
    if (run && !OCCUPYING.has(run.status)) return run;
    if (Date.now() >= until) return undefined;
    await sleep(100);
  }
}
