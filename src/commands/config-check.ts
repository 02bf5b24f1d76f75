import type { Config } from '../config/types.ts';
import { redact, REDACTED } from '../util/redact.ts';

/** The effective config as users write it (snake_case), with secrets and the environment left out. */
export function checkConfig(config: Config): { json: unknown; text: string } {
  const { env: _env, ...rest } = config;
  const effective = JSON.parse(redact(JSON.stringify(rest))) as Record<string, unknown>;
  if (config.backend?.token_env) (effective.backend as Record<string, unknown>).token = config.env[config.backend.token_env] ? REDACTED : '(not set)';
  const routes = config.routes.map((route) => `  ${JSON.stringify(route.queue)} → ${route.command} ${route.args.join(' ')}`.trimEnd());
  const text = [
    `config ok: ${config.file ?? '(built-in)'}`,
    `backend: ${config.backend ? `${config.backend.type} ${redact(config.backend.url ?? config.backend.path ?? '')}` : '(none)'}`,
    `poll every ${config.pollIntervalMs / 1000}s, at most ${config.maxConcurrentAgents} agents, API on ${config.apiHost}:${config.apiPort} (auth: ${config.apiAuth})`,
    `state in ${config.stateDir}`,
    routes.length ? `routes:\n${routes.join('\n')}` : 'routes: (none)',
    ...(config.dispatchFile ? [`dispatch-file: ${config.dispatchFile.repos.join(', ') || `every repo of ${config.dispatchFile.owner}`} → ${config.dispatchFile.tasksDir}`] : []),
  ].join('\n');
  return { json: { ok: true, config: effective }, text };
}
