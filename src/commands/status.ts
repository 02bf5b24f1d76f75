import { checkStateDir } from '../config/state-dir.ts';
import { openLedger } from '../core/runs/open-ledger.ts';
import { renderClusterStatus } from '../core/runs/postgres/cluster-status.ts';
import { buildStatus, clusterStatusOf, type RunSummary, type StatusSnapshot } from '../core/runs/status.ts';
import { readPushStatus, type PushStatus } from '../api/hooks/push-status.ts';
import { formatUsd } from '../core/supervise/budget.ts';
import { readHostLoad } from '../core/supervise/host-pressure.ts';
import { startPause } from '../core/supervise/start-gate.ts';
import type { OutboxSummary } from '../core/runs/outbox.ts';
import type { CommandContext } from './context.ts';

export async function showStatus(context: CommandContext): Promise<{ json: StatusSnapshot & { push?: PushStatus }; text: string }> {
  const config = context.config();
  checkStateDir(config);
  const ledger = await openLedger(config);
  let status: StatusSnapshot;
  try {
    const data = await ledger.read();
    const cluster = await clusterStatusOf(ledger, config.clusterMaxConcurrentAgents);
    status = { ...buildStatus(data, config, undefined, 20, await startPause(config, data, readHostLoad)), ...(cluster ? { cluster } : {}) };
  } finally {
    await ledger.close();
  }
  const push = await readPushStatus(config.stateDir);
  const json = push ? { ...status, push } : status;
  return { json, text: renderStatus(json) };
}

/** How the last tick started, and the last webhook delivery of each tracker (time, event, what became of it). */
export function renderPush(push: PushStatus | undefined): string[] {
  if (!push) return [];
  const lines = [`last tick: ${push.lastTick ? `${push.lastTick.at} (${push.lastTick.trigger})` : 'none yet'}`];
  for (const [tracker, delivery] of Object.entries(push.deliveries)) {
    lines.push(`last ${tracker} delivery: ${delivery.at} ${delivery.event ?? '(no event)'} ${delivery.result}${delivery.reason ? ` (${delivery.status}: ${delivery.reason})` : ''}`);
  }
  return lines;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : seconds < 3600 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function workspace(run: RunSummary): string {
  return run.workspace ? `\tin ${run.workspace}${run.branch ? ` (${run.branch})` : ''}` : '';
}

export function renderStatus(status: StatusSnapshot & { push?: PushStatus }): string {
  const lines = [
    `slots: ${status.slots.used}/${status.slots.max} used, ${status.slots.free} free`,
    ...(status.cluster ? renderClusterStatus(status.cluster) : []),
    `last poll: ${status.lastPollAt ?? 'never'}${status.lastPollError ? ` (failing: ${status.lastPollError})` : ''}`,
    ...status.brokenRoutes.map((broken) => `route paused: ${broken.route} (since ${broken.since}): ${broken.reason}`),
    ...renderPush(status.push),
    ...(status.paused ? [status.paused.reason] : []),
    `spent today: ${formatUsd(status.spend.todayUsd)}${status.spend.dailyBudgetUsd === undefined ? '' : ` of ${formatUsd(status.spend.dailyBudgetUsd)}`}`,
    `tracker writes: ${trackerWritesLine(status.trackerWrites)}`,
    `daemons: ${status.daemons.length ? status.daemons.map((d) => `${d.mode} pid ${d.pid}${d.apiUrl ? ` ${d.apiUrl}` : ''}`).join(', ') : 'none running'}`,
    '',
    status.running.length ? 'running:' : 'running: none',
    ...status.running.map((run) => `  ${run.taskId}\t${run.taskName}\t${run.route}\tpid ${run.pid ?? '-'}\t${duration(run.elapsedMs)}\tdeadline ${run.deadline ?? 'none'}${workspace(run)}`),
  ];
  if (status.waiting.length) lines.push('', 'waiting to retry:', ...status.waiting.map((run) => `  ${run.taskId}\t${run.taskName}\tattempt ${run.attempt}/${run.maxAttempts} at ${run.nextAttemptAt}`));
  if (status.trackerWrites.pending) lines.push('', 'tracker writes pending:', ...status.trackerWrites.items.map((item) => `  ${item.taskId}\t${item.kind === 'move' ? `move to "${item.to}"` : 'comment'}\t${item.tries} failed ${item.tries === 1 ? 'try' : 'tries'}${item.lastError ? `\t${item.lastError}` : ''}`));
  if (status.recent.length) lines.push('', 'recent:', ...status.recent.map((run) => `  ${run.endedAt ?? ''}\t${run.taskId}\t${run.taskName}\t${run.status}\t${run.outcome ?? ''}${run.costUsd === undefined ? '' : `\t${formatUsd(run.costUsd)}`}${workspace(run)}${run.trackerWrites === 'pending' || run.trackerWrites === 'dropped' ? `\t(tracker writes ${run.trackerWrites})` : ''}`));
  return lines.join('\n');
}

/** "none pending", "2 pending, next try in 8 s". */
export function trackerWritesLine(writes: OutboxSummary, now = Date.now()): string {
  if (writes.pending === 0) return 'none pending';
  const next = writes.nextTryAt ? `, next try in ${Math.max(1, Math.round((Date.parse(writes.nextTryAt) - now) / 1000))} s` : ', being tried';
  return `${writes.pending} pending for ${writes.tasks} task(s)${next}${writes.lastError ? ` (last error: ${writes.lastError})` : ''}`;
}
