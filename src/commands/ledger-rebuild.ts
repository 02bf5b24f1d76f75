import { basename, join } from 'node:path';
import { createTracker } from '../../adapters/registry.ts';
import { requireBackend, routedQueues } from '../config/load.ts';
import { checkStateDir } from '../config/state-dir.ts';
import { UsageError } from '../errors.ts';
import { findLedgerUsers } from '../core/runs/ledger-users.ts';
import type { RunRecord } from '../core/runs/ledger.ts';
import { planRebuild, readLedgerState, type RebuildPlan } from '../core/runs/rebuild.ts';
import { inUse, writeRebuild } from '../core/runs/rebuild-write.ts';
import { readExitStatus } from '../core/process/exit-status.ts';
import { cut, oneLine } from '../util/printable.ts';
import type { CommandContext } from './context.ts';
import { verifyTracker } from './verify-tracker.ts';

export interface LedgerRebuildOptions {
  /** Print the plan; change nothing. */
  dryRun: boolean;
  /** Replace a ledger that is fine. */
  force: boolean;
}

/**
 * `dispatcher ledger rebuild`: a new ledger from the live agents and the tasks in progress (see
 * src/core/runs/rebuild.ts), the old file kept beside it. Refused while a dispatcher process uses
 * the ledger, and for a ledger that is fine unless --force.
 */
export async function rebuildLedger(context: CommandContext, options: LedgerRebuildOptions): Promise<{ json: unknown; text: string }> {
  const config = context.config();
  if (config.coordination) throw new UsageError('with [coordination] the ledger is in PostgreSQL, not in state_dir: there is no ledger file to rebuild (see docs/scale-out.md)');
  checkStateDir(config);
  const ledgerFile = join(config.stateDir, 'ledger.json');
  const users = findLedgerUsers(ledgerFile);
  if (users.live.length > 0) throw inUse(ledgerFile, users.live[0].pid);
  const { found } = readLedgerState(ledgerFile);
  if (found.state === 'healthy' && !options.force && !options.dryRun) {
    throw new UsageError(`the ledger ${ledgerFile} is fine; nothing was changed (--force replaces it with one rebuilt from the live agents and the tracker)`);
  }
  const tracker = await createTracker({ options: requireBackend(config), baseDir: config.baseDir, env: config.env, log: context.log, queues: routedQueues(config) });
  try {
    await verifyTracker(tracker, context.log, 'fail');
    const plan = await planRebuild({ config, tracker });
    const written = options.dryRun ? undefined : await writeRebuild(plan);
    return { json: summary(plan, options, written?.keptAs), text: render(plan, options, written?.keptAs) };
  } finally {
    await tracker.close?.();
  }
}

function summary(plan: RebuildPlan, options: LedgerRebuildOptions, keptAs: string | undefined) {
  return {
    dryRun: options.dryRun,
    ledger: plan.ledgerFile,
    found: plan.found,
    adopted: plan.adopted.map((run) => ({ runId: run.id, taskId: run.taskId, route: run.route, pid: run.pid, pgid: run.pgid, deadline: run.deadline ? new Date(run.deadline).toISOString() : undefined, token: run.tokenHash !== undefined })),
    settle: plan.settle.map((run) => ({ runId: run.id, taskId: run.taskId, queue: run.inProgressQueue, route: run.route, by: settledBy(run) })),
    leftAlone: plan.leftAlone,
    unreadQueues: plan.unreadQueues,
    notes: plan.notes,
    ...(keptAs ? { keptAs } : {}),
    written: !options.dryRun,
  };
}

function render(plan: RebuildPlan, options: LedgerRebuildOptions, keptAs: string | undefined): string {
  const lines = [`ledger ${plan.ledgerFile}: ${describeFound(plan)}`];
  lines.push(`${plan.adopted.length} live agent(s) ${options.dryRun ? 'to adopt' : 'adopted'}${plan.adopted.length ? ':' : ''}`);
  for (const run of plan.adopted) {
    const deadline = run.deadline ? `deadline ${new Date(run.deadline).toISOString()}` : 'no deadline';
    lines.push(`  task ${show(run.taskId)}\trun ${run.id}\tpid ${run.pid} (group ${run.pgid})\troute "${show(run.route)}"\t${deadline}${run.tokenHash ? '' : '\t(no API token)'}`);
  }
  lines.push(`${plan.settle.length} in-progress task(s) with no agent to settle at the next start${plan.settle.length ? ':' : ''}`);
  for (const run of plan.settle) lines.push(`  task ${show(run.taskId)}\tin "${show(run.inProgressQueue ?? '')}"\t${settledBy(run)}`);
  for (const task of plan.leftAlone) lines.push(`left alone: task ${show(task.taskId)} in "${show(task.queue)}": no run of it has a log here and it is not assigned to the dispatcher`);
  for (const queue of plan.unreadQueues) lines.push(`not looked at: "${show(queue.queue)}" cannot be read: ${show(queue.reason)}`);
  for (const note of plan.notes) lines.push(`note: ${note}`);
  if (options.dryRun) {
    const refused = plan.found.state === 'healthy' && !options.force ? ' (the ledger is fine: without --force it would not be replaced)' : '';
    lines.push(`dry run: nothing was changed${refused}`);
  } else {
    lines.push(keptAs ? `kept the old file as ${basename(keptAs)}; wrote a new ledger` : 'wrote a new ledger');
    lines.push('next: start `dispatcher run` (or `poll-once`): it adopts the agents, enforces their deadlines, and settles the tasks above with a comment each');
  }
  return lines.join('\n');
}

function describeFound(plan: RebuildPlan): string {
  switch (plan.found.state) {
    case 'missing':
      return 'missing';
    case 'healthy':
      return 'fine';
    default:
      return `damaged (${plan.found.problem})`;
  }
}

/** How the next start settles a run put in the ledger with no agent. */
function settledBy(run: RunRecord): string {
  if (!run.exitFile) return `as lost: ${run.recoveryNote ?? ''}`;
  const status = readExitStatus(run.exitFile);
  if (!status) return `as lost: its run ${run.id} ended without an exit status`;
  return `by the exit status of its run ${run.id}: ${status.signal ? `killed by ${status.signal}` : `exit ${status.exitCode}`}`;
}

function show(text: string): string {
  return cut(oneLine(text), 200);
}
