import type { CommandContext } from './context.ts';
import { dispatchFile, type DispatchFileSummary } from './dispatch-file.ts';

/** The CLI shell of dispatch-file: signals in, a summary out (for --once and --dry-run). */
export async function runDispatchFile(context: CommandContext, options: { once: boolean; dryRun: boolean }): Promise<{ json: DispatchFileSummary; text: string } | undefined> {
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    context.log.info('stopping after the current cycle (send again to leave now)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await dispatchFile({ config: context.config(), log: context.log, once: options.once, dryRun: options.dryRun, signal: stop.signal, json: context.options.json });
    if (!options.once && !options.dryRun && !context.options.json) return undefined;
    const files = summary.files.map((file) => `  ${options.dryRun ? 'would write' : 'wrote'} ${JSON.stringify(file)}`);
    return { json: summary, text: [`dispatched ${summary.dispatched}, skipped ${summary.skipped}, waiting ${summary.waiting}, errors ${summary.errors}`, ...files].join('\n') };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
