import { createLogger, loadPrettyPrinter, type AppLogger, type LogFormat, type LogLevelName } from '../log.ts';
import { loadConfig, requireBackend, routedQueues } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import type { TrackerAdapter } from '../../adapters/types.ts';

/** Options every command accepts (commander's global options). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logFormat?: LogFormat;
  quiet?: boolean;
  verbose?: boolean;
}

export interface CommandContext {
  options: GlobalOptions;
  log: AppLogger;
  /** Loaded on first use: commands that do not need it never pay for it. */
  config(): Config;
  /** The tracker a `task` command talks to: the dispatcher's API inside an agent, else the backend. */
  openTracker(): Promise<TrackerAdapter>;
}

export async function createContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<CommandContext> {
  const level: LogLevelName = options.quiet ? 'error' : options.verbose ? 'debug' : 'info';
  const format = options.logFormat ?? 'auto';
  const log = createLogger({ format, level, pretty: format === 'auto' ? await loadPrettyPrinter() : undefined });
  let config: Config | undefined;
  const context: CommandContext = {
    options,
    log,
    config: () => (config ??= loadConfig({ path: options.config, env })),
    async openTracker() {
      const { createTracker } = await import('../../adapters/registry.ts');
      if (env.DISPATCHER_API_URL && !options.config) {
        return createTracker({ options: { type: 'api', url: env.DISPATCHER_API_URL }, baseDir: process.cwd(), env, log });
      }
      const loaded = context.config();
      return createTracker({ options: requireBackend(loaded), baseDir: loaded.baseDir, env: loaded.env, log, queues: routedQueues(loaded) });
    },
  };
  return context;
}
