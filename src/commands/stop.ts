import type { RunRecord } from '../core/runs/ledger.ts';
import { isOwnerAlive, type Ledger } from '../core/runs/ledger.ts';
import { openLedger } from '../core/runs/open-ledger.ts';
import { Outbox } from '../core/runs/outbox.ts';
import { reconcile } from '../core/runs/recovery.ts';
import type { ExecutorDeps } from '../core/runs/run-executor.ts';
import { summarise } from '../core/runs/status.ts';
import { stopRun, waitUntilSettled } from '../core/supervise/stop.ts';
import { heartbeatEvery, settleWithin, type StoppedElsewhere } from '../core/supervise/stop-elsewhere.ts';
import type { StopElsewhere } from '../core/runs/postgres/stops-elsewhere.ts';
import { DispatcherError } from '../errors.ts';
import type { CommandContext } from './context.ts';

export interface StopOptions {
  reason?: string;
  /** Move the task back to the route's watched queue once the agent is gone. */
  release?: boolean;
}

/** How long the run's owner is given to record the outcome once the agent is gone. */
const SETTLE_WAIT_MS = 10_000;

/**
 * `dispatcher stop <task-id|run-id>`: records the stop in the ledger and ends the agent's group
 * from here (TERM → grace → KILL), whichever dispatcher process supervises it. That process sees
 * its agent end, reads the decision and settles the run (outcome, comment, --release move). A run
 * nobody supervises (a `poll-once --detach` agent) is settled here, as the next poll would.
 */
export async function stopAgent(context: CommandContext, id: string, options: StopOptions): Promise<{ json: unknown; text: string }> {
  const config = context.config();
  const ledger = await openLedger(config);
  try {
    return await stopWith(context, ledger, id, options);
  } finally {
    await ledger.close();
  }
}

async function stopWith(context: CommandContext, ledger: Ledger, id: string, options: StopOptions): Promise<{ json: unknown; text: string }> {
  const config = context.config();
  const reason = options.reason?.trim() || 'stopped by the operator';
  const coordination = config.coordination;
  const elsewhere = coordination ? { settleWithinMs: settleWithin({ ...config, coordination }), onRecorded: (stop: StopElsewhere) => context.log.info(sayWhere(stop, coordination.leaseTtlMs)) } : undefined;
  const result = await stopRun({ ledger, id, request: { outcome: 'stopped', reason, ...(options.release ? { release: true } : {}) }, killGraceMs: config.killGraceMs, ...(elsewhere ? { elsewhere } : {}) });
  if (result.elsewhere) return reportElsewhere(result.elsewhere, options, elsewhere!.settleWithinMs);
  const stopped = result.run;
  const owned = isOwnerAlive(stopped.owner, ledger.owner);
  let settled = await waitUntilSettled(ledger, stopped.id, owned ? SETTLE_WAIT_MS : 0);
  if (!settled && !owned) settled = await settleHere(context, ledger, stopped);
  const where = settled ? `outcome ${settled.status}` : `the agent is gone; the dispatcher that supervises it (pid ${stopped.owner?.pid}) records the outcome`;
  const moved = options.release ? `; task ${stopped.taskId} goes back to "${stopped.route}"` : '';
  return {
    json: { ok: true, run: summarise(settled ?? stopped), settled: settled !== undefined },
    text: `stopped run ${stopped.id} of task ${stopped.taskId} (${where})${moved}`,
  };
}

/** Settles the runs nobody watches and whose agents are gone (this one among them), as any dispatcher start does. */
async function settleHere(context: CommandContext, ledger: Ledger, run: RunRecord): Promise<RunRecord | undefined> {
  const config = context.config();
  const tracker = await context.openTracker();
  const outbox = new Outbox({ ledger, tracker, log: context.log });
  try {
    const deps: ExecutorDeps = { config, tracker, ledger, outbox, log: context.log, baseEnv: process.env, detach: true, emit: () => {} };
    await reconcile({ deps, routes: new Map(config.routes.map((route) => [route.queue, route])), isWatched: () => false, track: () => {} }, await ledger.read());
    return await waitUntilSettled(ledger, run.id, 0);
  } finally {
    await outbox.close(); // what the tracker refused goes to the next dispatcher process
    await tracker.close?.();
  }
}

/** What the caller waits for, said before the wait: which host acts, and when. */
function sayWhere(stop: StopElsewhere, leaseTtlMs: number): string {
  const run = `run ${stop.run.id} of task ${stop.run.taskId} runs on host "${stop.host}"`;
  if (!stop.hostAlive) return `${run}, whose lease ran out: the stop is recorded; the host that takes "${stop.host}" over settles the run as stopped. Waiting for it…`;
  const when = `at its next heartbeat (within ${Math.round(heartbeatEvery(leaseTtlMs) / 100) / 10} s: lease_ttl / 3), then TERM → grace → KILL`;
  if (!stop.recorded) return `${run} and already has a stop decided (${stop.run.stopRequest?.reason ?? 'no reason given'}): that one stands; its dispatcher acts on it ${when}. Waiting for it…`;
  return `${run}: the stop is recorded there; its dispatcher stops the agent ${when}. Waiting for it…`;
}

function reportElsewhere(stop: StoppedElsewhere, options: StopOptions, waitedMs: number): { json: unknown; text: string } {
  const { run, host } = stop;
  if (!stop.settled) {
    const next = stop.hostAlive ? `is its dispatcher running? (\`dispatcher status\` shows the age of its lease)` : `it applies when another host takes "${host}" over`;
    throw new DispatcherError('E_STOP_PENDING', `the stop of run ${run.id} (task ${run.taskId}) is recorded on host "${host}", but the run has not settled within ${Math.round(waitedMs / 1000)} s: ${next}. The decision stays recorded`);
  }
  const moved = options.release && run.status === 'stopped' ? `; task ${run.taskId} goes back to "${run.route}"` : '';
  return {
    json: { ok: true, run: summarise(run), settled: true, host },
    text: `stopped run ${run.id} of task ${run.taskId} on host "${host}" (outcome ${run.status})${moved}`,
  };
}
