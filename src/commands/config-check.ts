import { checkStateDir } from '../config/state-dir.ts';
import type { BackendConfig, Config } from '../config/types.ts';
import { redact, REDACTED } from '../util/redact.ts';
import { checkRouteCommands } from './route-commands.ts';
import { agentRouteWarnings } from './agent-route-checks.ts';
import { formatDuration } from '../core/runs/run-comment.ts';

/** The effective config as users write it (snake_case), with secrets and the environment left out. */
export async function checkConfig(config: Config): Promise<{ json: unknown; text: string }> {
  checkStateDir(config);
  const commands = await checkRouteCommands(config);
  const { env: _env, webhooks, coordination, ...rest } = config;
  const effective = JSON.parse(redact(JSON.stringify(rest))) as Record<string, unknown>;
  if (coordination) {
    effective.coordination = { hostId: coordination.hostId, leaseTtlMs: coordination.leaseTtlMs, [coordination.urlEnv]: coordination.url ? REDACTED : '(not set)' };
  }
  if (webhooks) {
    effective.webhooks = {
      listen: webhooks.listen,
      [webhooks.giteaSecretEnv]: webhooks.giteaSecret ? REDACTED : '(not set)',
      [webhooks.plankaTokenEnv]: webhooks.plankaToken ? REDACTED : '(not set)',
    };
  }
  const credentials = credentialsOf(config.backend, config.env);
  if (config.backend) (effective.backend as Record<string, unknown>).credentials = credentials;
  const dispatchFileBackend = config.dispatchFile?.backend !== config.backend ? config.dispatchFile?.backend : undefined;
  const dispatchFileCredentials = credentialsOf(dispatchFileBackend, config.env);
  const said = (found: Record<string, string>) =>
    Object.entries(found)
      .map(([name, value]) => `${name} ${value === REDACTED ? 'set' : 'not set'}`)
      .join(', ');
  const routes = config.routes.map((route, index) => {
    const found = commands[index];
    const where = found.path ? `${found.version ? `${found.version}, ` : ''}${found.path}` : 'NOT FOUND on PATH';
    const limit = route.timeoutMs ?? config.defaultAgentTimeoutMs;
    const timeout = limit === undefined ? 'no time limit' : `time limit ${formatDuration(limit)}`;
    return `  ${JSON.stringify(route.queue)} → ${`${route.command} ${route.args.join(' ')}`.trimEnd()}  (${where}; ${timeout})`;
  });
  const warnings = agentRouteWarnings(config);
  const text = [
    `config ok: ${config.file ?? '(built-in)'}`,
    `backend: ${config.backend ? `${config.backend.type} ${redact(config.backend.url ?? config.backend.path ?? '')}` : '(none)'}`,
    ...(Object.keys(credentials).length ? [`credentials: ${said(credentials)}`] : []),
    `poll every ${config.pollIntervalMs / 1000}s, at most ${config.maxConcurrentAgents} agents, API on ${config.apiHost}:${config.apiPort} (auth: ${config.apiAuth})`,
    `state in ${config.stateDir}`,
    ...(coordination ? [coordinationLine(config)] : []),
    routes.length ? `routes:\n${routes.join('\n')}` : 'routes: (none)',
    ...(config.dispatchFile ? [`dispatch-file: ${config.dispatchFile.repos.join(', ') || `every repo of ${config.dispatchFile.owner}`} → ${config.dispatchFile.tasksDir}`] : []),
    ...(Object.keys(dispatchFileCredentials).length ? [`dispatch-file credentials: ${said(dispatchFileCredentials)}`] : []),
    ...warnings.map((warning) => `warning: ${warning}`),
  ].join('\n');
  return { json: { ok: true, config: effective, commands, warnings }, text };
}

/** Where the shared ledger is, whether its URL is set — never the URL — and this host's name and limits. */
function coordinationLine(config: Config): string {
  const coordination = config.coordination!;
  const url = coordination.url ? `${coordination.urlEnv} set` : `${coordination.urlEnv} NOT SET (run and poll-once will refuse to start)`;
  const cap = config.clusterMaxConcurrentAgents === undefined ? '' : `, at most ${config.clusterMaxConcurrentAgents} agents in the cluster`;
  return `coordination: PostgreSQL (${url}), host "${coordination.hostId}", lease ${formatDuration(coordination.leaseTtlMs)}${cap}`;
}

/** Which credential variables a backend reads, and whether each is set — never their values. */
function credentialsOf(backend: BackendConfig | undefined, env: Config['env']): Record<string, string> {
  const names: Record<string, string[]> = {
    planka: ['PLANKA_TOKEN', 'PLANKA_API_KEY', 'PLANKA_USER', 'PLANKA_PASSWORD'],
    gitea: [backend?.token_env ?? 'GITEA_TOKEN'],
  };
  const type = backend?.type ?? '';
  return Object.fromEntries((Object.hasOwn(names, type) ? names[type] : []).map((name) => [name, env[name] ? REDACTED : '(not set)']));
}
