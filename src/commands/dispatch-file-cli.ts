import type { CommandContext } from './context.ts';
import type { StopSignals } from './stop-signals.ts';
import { preferSmallHeap } from '../util/long-running.ts';
import { dispatchFile, type DispatchFileSummary } from './dispatch-file.ts';
import { startDispatchFileDashboard } from '../api/dashboard/dispatch-file-dashboard.ts';
import { TickRequests } from '../core/dispatch/tick-requests.ts';
import { PushStatusRecorder } from '../api/hooks/push-status.ts';
import { serveHooks, type HookServing } from '../api/hooks/serve.ts';

/** The CLI shell of dispatch-file: signals in, a summary out (for --once and --dry-run). */
export async function runDispatchFile(context: CommandContext, options: { once: boolean; dryRun: boolean; stop: StopSignals }): Promise<{ ok: boolean; json: DispatchFileSummary; text: string } | undefined> {
  if (!options.once && !options.dryRun) preferSmallHeap();
  const { stop } = options;
  // The dashboard and the webhook receivers serve the long-running loop only: a --once from cron must not hold a port.
  const looping = !options.once && !options.dryRun;
  const requests = new TickRequests();
  const push = new PushStatusRecorder();
  requests.onTick(({ trigger, at }) => push.tick(trigger, at));
  const dashboard = looping ? await startDispatchFileDashboard({ config: context.config(), log: context.log, push }) : undefined;
  let hooks: HookServing | undefined;
  try {
    if (looping) hooks = await serveHooks({ config: context.config(), mode: 'dispatch-file', requests, status: push, log: context.log, mount: dashboard });
    const summary = await dispatchFile({ config: context.config(), log: context.log, once: options.once, dryRun: options.dryRun, signal: stop.signal, json: context.options.json, state: dashboard?.state, requests: hooks ? requests : undefined });
    if (!options.once && !options.dryRun && !context.options.json) return undefined;
    const files = summary.files.map((file) => `  ${options.dryRun ? 'would write' : 'wrote'} ${JSON.stringify(file)}`);
    // Cron only notices a non-zero exit: a cycle with errors (wrong token, Gitea down) is a failure.
    return { ok: summary.errors === 0, json: summary, text: [`dispatched ${summary.dispatched}, skipped ${summary.skipped}, waiting ${summary.waiting}, errors ${summary.errors}${summary.staleFiles.length ? `, stale task files ${summary.staleFiles.length}` : ''}`, ...files].join('\n') };
  } finally {
    await hooks?.close();
    await dashboard?.close();
  }
}
