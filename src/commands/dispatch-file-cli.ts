import type { CommandContext } from './context.ts';
import type { StopSignals } from './stop-signals.ts';
import { preferSmallHeap } from '../util/long-running.ts';
import { dispatchFile, type DispatchFileSummary } from './dispatch-file.ts';
import { startDispatchFileDashboard } from '../api/dashboard/dispatch-file-dashboard.ts';

/** The CLI shell of dispatch-file: signals in, a summary out (for --once and --dry-run). */
export async function runDispatchFile(context: CommandContext, options: { once: boolean; dryRun: boolean; stop: StopSignals }): Promise<{ ok: boolean; json: DispatchFileSummary; text: string } | undefined> {
  if (!options.once && !options.dryRun) preferSmallHeap();
  const { stop } = options;
  // The dashboard serves the long-running loop only: a --once from cron must not hold the port.
  const dashboard = options.once || options.dryRun ? undefined : await startDispatchFileDashboard({ config: context.config(), log: context.log });
  try {
    const summary = await dispatchFile({ config: context.config(), log: context.log, once: options.once, dryRun: options.dryRun, signal: stop.signal, json: context.options.json, state: dashboard?.state });
    if (!options.once && !options.dryRun && !context.options.json) return undefined;
    const files = summary.files.map((file) => `  ${options.dryRun ? 'would write' : 'wrote'} ${JSON.stringify(file)}`);
    // Cron only notices a non-zero exit: a cycle with errors (wrong token, Gitea down) is a failure.
    return { ok: summary.errors === 0, json: summary, text: [`dispatched ${summary.dispatched}, skipped ${summary.skipped}, waiting ${summary.waiting}, errors ${summary.errors}`, ...files].join('\n') };
  } finally {
    await dashboard?.close();
  }
}
