import type { Config } from '../../config/types.ts';
import { ConfigError } from '../../errors.ts';
import type { AppLogger } from '../../log.ts';
import { redact } from '../../util/redact.ts';

/** What a reload cannot change in a running daemon (config key → its name in the file): they take effect at the next start. */
const AT_RESTART: Array<[keyof Config, string]> = [
  ['backend', 'backend'],
  ['stateDir', 'state_dir'],
  ['apiHost', 'api_host'],
  ['apiPort', 'api_port'],
  ['apiAuth', 'api.auth'],
  ['webhooks', 'webhooks'],
];

export interface ConfigHolder {
  /** The configuration in force. */
  current(): Config;
  /** When it was loaded (start or the last good reload), ISO 8601. */
  loadedAt(): string;
  /**
   * Reads the config again (SIGHUP, `dispatcher reload`): routes, limits, timeouts and budgets take
   * effect at the next tick; an invalid config is refused with the usual error in the log (and
   * thrown), and the last good one stays.
   */
  reload(): Config;
}

export function holdConfig(initial: Config, options: { load: () => Config; apply: (next: Config) => void; log: AppLogger }): ConfigHolder {
  let config = initial;
  let loadedAt = new Date().toISOString();
  return {
    current: () => config,
    loadedAt: () => loadedAt,
    reload() {
      let next: Config;
      try {
        next = options.load();
      } catch (error) {
        const detail = error instanceof ConfigError && error.detail ? `\n${error.detail}` : '';
        options.log.error(`reload refused, the configuration in force stays: ${redact((error as Error).message)}${redact(detail)}`);
        throw error;
      }
      const kept = AT_RESTART.filter(([key]) => JSON.stringify(next[key]) !== JSON.stringify(config[key]));
      if (kept.length > 0) options.log.warn(`reload: ${kept.map(([, name]) => name).join(', ')} changed; that takes a restart (the rest applies now)`);
      next = { ...next, ...Object.fromEntries(kept.map(([key]) => [key, config[key]])) };
      options.apply(next);
      config = next;
      loadedAt = new Date().toISOString();
      options.log.info(`configuration reloaded: ${next.routes.length} route(s), at most ${next.maxConcurrentAgents} agents, polling every ${next.pollIntervalMs / 1000}s`);
      return next;
    },
  };
}
