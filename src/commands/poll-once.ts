import type { TrackerFailure } from '../errors.ts';
import type { RunRecord } from '../core/runs/ledger.ts';
import { summarise } from '../core/runs/status.ts';
import type { CommandContext } from './context.ts';
import { openRuntime } from './runtime.ts';
import { openLogFile } from './log-file.ts';
import { cut, forLog as printable, oneLine } from '../util/printable.ts';
import { redact } from '../util/redact.ts';

/** A task's name on one short line of poll-once's report. */
const shown = (name: string) => cut(oneLine(name), 200);
/** A line of the report, as a log line: no secret, escapes shown, very long ids cut. */
const forLog = (line: string) => printable(redact(line));

export interface PollOnceOptions {
  /** Leave agents running in their own process groups; the next poll-once or run enforces their deadlines. */
  detach: boolean;
  /** Print what would be dispatched; change nothing. */
  dryRun: boolean;
}

/** How long poll-once keeps retrying tracker writes the tracker refused before it exits. */
const DRAIN_WITHIN_MS = 10_000;

type PollOnceResult = { ok: boolean; json: unknown; text: string; trackerError?: TrackerFailure | { kind: 'unknown' } };

/** One tick for cron. Waits for its agents unless detached; not ok when a run failed. Its log lines also go to log_file. */
export async function pollOnce(context: CommandContext, options: PollOnceOptions): Promise<PollOnceResult> {
  const logFile = openLogFile(context.log, context.config().logFile, context.options);
  try {
    return await poll(context, options);
  } finally {
    await logFile?.close();
  }
}

async function poll(context: CommandContext, options: PollOnceOptions): Promise<PollOnceResult> {
  const runtime = await openRuntime(context, { mode: 'poll-once', serveApi: !options.detach && !options.dryRun, detach: options.detach });
  const { router } = runtime;
  try {
    if (options.dryRun) {
      const planned = await router.plan();
      const text = planned.length ? planned.map((item) => forLog(`would dispatch ${item.taskId} (${shown(item.taskName)}) → ${item.command} [route ${item.route}]`)).join('\n') : 'nothing to dispatch';
      return { ok: true, json: { dryRun: true, planned }, text };
    }
    const tick = await router.tick();
    // A run in a workspace has its agent (and pid) once the workspace is ready; detached, nothing waits for it otherwise.
    const dispatched = await router.agentsStarted(tick.dispatched);
    let settled: RunRecord[] = [];
    if (!options.detach) settled = await router.waitForAll();
    // Tracker writes still owed (this run's or earlier ones'): tried for a while, the rest left to the next run.
    const pendingWrites = await router.outbox.drainWithin(DRAIN_WITHIN_MS);
    const failed = settled.filter((run) => run.status !== 'succeeded');
    const lines = [
      tick.error ? forLog(`poll failed: ${tick.error}`) : `${tick.ready ?? 0} ready task(s), dispatched ${dispatched.length}`,
      ...dispatched.map((run) => forLog(`  ${run.taskId} (${shown(run.taskName)}) → ${run.pid ? `pid ${run.pid}` : `no agent (${run.outcome ?? run.status})`}${options.detach ? ' (detached)' : ''}`)),
      ...settled.map((run) => forLog(`  ${run.taskId}: ${run.outcome ?? run.status}`)),
      ...(pendingWrites > 0 ? [`${pendingWrites} tracker write(s) pending: the tracker did not take them; the next dispatcher run retries them`] : []),
    ];
    return {
      ok: !tick.error && failed.length === 0,
      ...(tick.error ? { trackerError: tick.failure ?? { kind: 'unknown' } } : {}),
      json: { ok: !tick.error && failed.length === 0, ready: tick.ready, error: tick.error, dispatched: dispatched.map((run) => summarise(run)), settled: settled.map((run) => summarise(run)), trackerWritesPending: pendingWrites },
      text: lines.join('\n'),
    };
  } finally {
    await runtime.close();
  }
}
