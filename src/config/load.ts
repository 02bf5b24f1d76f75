import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseToml, TomlError } from 'smol-toml';
import * as v from 'valibot';
import { ConfigError } from '../errors.ts';
import { PUBLIC_CREDENTIAL_ENV, registerSecret, SECRET_ENV_PATTERNS } from '../util/redact.ts';
import { configSchema, DEFAULT_API_PORT, type RawConfig } from './schema.ts';
import { checkRules } from './rules.ts';
import { describeIssue, findKeyLine, formatPath } from './messages.ts';
import { parseByteSize } from '../util/byte-size.ts';
import type { BackendConfig, Config, CoordinationConfig, DispatchFileConfig, PriorityName } from './types.ts';
import { resolveWorkspace } from './workspace-config.ts';

export const PYPROJECT_TABLE = ['tool', 'artificer-dispatcher'];

export interface LoadOptions {
  /** `--config PATH`. */
  path?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

interface Located {
  file: string;
  /** Keys leading to the dispatcher's table inside the file (pyproject). */
  prefix: string[];
}

/** Finds the config: --config, $DISPATCHER_CONFIG, ./dispatcher.toml, ./pyproject.toml's table. */
export function locateConfig(options: LoadOptions = {}): Located | undefined {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.path ?? env.DISPATCHER_CONFIG;
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`);
    return { file, prefix: file.endsWith('pyproject.toml') ? PYPROJECT_TABLE : [] };
  }
  const toml = resolve(cwd, 'dispatcher.toml');
  if (existsSync(toml)) return { file: toml, prefix: [] };
  const pyproject = resolve(cwd, 'pyproject.toml');
  if (existsSync(pyproject) && /^\s*\[tool\.artificer-dispatcher[.\]]/m.test(readFileSync(pyproject, 'utf8'))) {
    return { file: pyproject, prefix: PYPROJECT_TABLE };
  }
  return undefined;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const located = locateConfig(options);
  if (!located) {
    throw new ConfigError('no configuration found', {
      detail: 'Looked for --config, $DISPATCHER_CONFIG, ./dispatcher.toml and [tool.artificer-dispatcher] in ./pyproject.toml.\nRun `dispatcher init` to write a starting dispatcher.toml.',
    });
  }
  return loadConfigFile(located.file, located.prefix, options.env ?? process.env);
}

export function loadConfigFile(file: string, prefix: string[], processEnv: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      throw new ConfigError(`${file}:${error.line}:${error.column}: invalid TOML: ${error.message.split('\n')[0]}`, {
        cause: error,
        detail: error.codeblock,
      });
    }
    throw error;
  }
  let table: unknown = document;
  for (const key of prefix) table = (table as Record<string, unknown> | undefined)?.[key];
  if (table === undefined) throw new ConfigError(`${file}: no [${prefix.join('.')}] table`);

  const result = v.safeParse(configSchema, table);
  if (!result.success) {
    const lines = result.issues.map((issue) => {
      const { keys, message } = describeIssue(issue, configSchema);
      const line = findKeyLine(text, keys, prefix);
      return `${file}${line ? `:${line}` : ''}: ${formatPath([...prefix, ...keys])}: ${message}`;
    });
    throw new ConfigError(lines[0], { detail: lines.length > 1 ? lines.slice(1).join('\n') : undefined });
  }
  const problems = checkRules(result.output);
  if (problems.length > 0) {
    const lines = problems.map(({ keys, message }) => {
      const line = findKeyLine(text, keys, prefix);
      return `${file}${line ? `:${line}` : ''}: ${formatPath([...prefix, ...keys])}: ${message}`;
    });
    throw new ConfigError(lines[0], { detail: lines.length > 1 ? lines.slice(1).join('\n') : undefined });
  }
  const baseDir = dirname(file);
  return normaliseConfig(result.output, { file, baseDir, env: withDotEnv(baseDir, processEnv) });
}

/** `.env` beside the config file; variables already in the environment win. */
function withDotEnv(baseDir: string, processEnv: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const path = resolve(baseDir, '.env');
  let fromFile: Record<string, string> = {};
  if (existsSync(path)) {
    try {
      fromFile = parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch (error) {
      throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  return { ...fromFile, ...processEnv };
}

const seconds = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 1000));

/**
 * Claude and Codex routes get a time limit even when none is configured: Codex offline waits for
 * the network forever ("Reconnecting... waiting for network"), and a slot held forever is lost.
 */
export const CODING_AGENT_TIMEOUT_S = 3600;
const CODING_AGENTS: ReadonlySet<string> = new Set(['claude', 'codex']);

export const DEFAULT_PRIORITY: Record<PriorityName, string[]> = {
  CRITICAL: ['critical', 'p0', 'priority/critical'],
  HIGH: ['high', 'p1', 'priority/high'],
  NORMAL: ['normal', 'p2', 'priority/normal'],
  LOW: ['low', 'p3', 'priority/low'],
};

export function normaliseConfig(raw: RawConfig, where: { file?: string; baseDir: string; env: Record<string, string | undefined> }): Config {
  const { baseDir, env } = where;
  const at = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  // A token variable the config names is a secret too, whatever it is called.
  const giteaSecretEnv = raw.webhooks?.gitea_secret_env ?? 'GITEA_WEBHOOK_SECRET';
  const plankaTokenEnv = raw.webhooks?.planka_token_env ?? 'PLANKA_WEBHOOK_TOKEN';
  const coordination = raw.coordination && coordinationOf(raw.coordination, env);
  const tokenVariables = [coordination?.urlEnv, raw.backend?.token_env, raw.dispatch_file?.backend?.token_env, giteaSecretEnv, plankaTokenEnv].filter((name): name is string => Boolean(name));
  const secretEnv = [...new Set([...raw.secret_env, ...tokenVariables])];
  for (const [name, value] of Object.entries(env)) {
    if (secretEnv.includes(name) || (SECRET_ENV_PATTERNS.some((pattern) => pattern.test(name)) && !PUBLIC_CREDENTIAL_ENV.has(name))) registerSecret(value);
  }
  const stateDir = at(raw.state_dir);
  const workspaceWhere = (label: string) => ({ file: where.file, baseDir, stateDir, label });
  const routes = Object.entries(raw.routing).map(([queue, route]) => ({
    queue,
    command: route.command,
    args: route.args,
    inProgressQueue: route.in_progress_queue,
    timeoutMs: seconds(route.timeout ?? (raw.default_agent_timeout === undefined && CODING_AGENTS.has(route.agent) ? CODING_AGENT_TIMEOUT_S : undefined)),
    cwd: route.cwd,
    env: route.env,
    onSuccessQueue: route.on_success_queue,
    onFailureQueue: route.on_failure_queue,
    maxAttempts: route.max_attempts,
    maxConcurrent: route.max_concurrent,
    clusterMaxConcurrent: route.cluster_max_concurrent,
    agent: route.agent,
    structuredOutput: route.structured_output,
    mcp: route.mcp,
    onPermissionDenial: route.on_permission_denial,
    stallTimeoutMs: seconds(route.stall_timeout),
    maxCostUsd: route.max_cost_usd,
    maxTokens: route.max_tokens,
    stopWhenMoved: route.stop_when_moved,
    workspace: resolveWorkspace(raw.workspace, route.workspace, workspaceWhere(route.workspace ? `routing.${queue}.workspace` : 'workspace')),
  }));
  const notAgent = routes.find((route) => route.mcp && !CODING_AGENTS.has(route.agent));
  if (notAgent) throw new ConfigError(`${where.file ?? 'config'}: routing.${JSON.stringify(notAgent.queue)}.mcp: only claude and codex routes can be given the MCP server (set agent = "claude" or "codex")`);
  const backend = raw.backend as BackendConfig | undefined;
  const mergePriority = (base: Record<PriorityName, string[]>, levels: Partial<Record<PriorityName, string[] | undefined>> | undefined) => {
    const merged = { ...base };
    for (const [level, names] of Object.entries(levels ?? {})) if (names) merged[level as PriorityName] = names.map((name) => name.toLowerCase());
    return merged;
  };
  const priority = mergePriority(DEFAULT_PRIORITY, raw.priority);
  let dispatchFile: DispatchFileConfig | undefined;
  const df = raw.dispatch_file;
  if (df) {
    const dfBackend = (df.backend as BackendConfig | undefined) ?? backend;
    if (!dfBackend) throw new ConfigError(`${where.file ?? 'config'}: dispatch_file needs a tracker: add [dispatch_file.backend] or [backend]`);
    if (!df.repos?.length && !df.owner) throw new ConfigError(`${where.file ?? 'config'}: dispatch_file: set \`repos = ["owner/repo"]\` or \`owner\``);
    dispatchFile = {
      repos: df.repos ?? [],
      owner: df.owner,
      tasksDir: at(df.tasks_dir),
      intervalMs: seconds(df.interval)!,
      ratePerMinute: df.rate_limit,
      logFile: df.log_file ? at(df.log_file) : undefined,
      dashboardHost: df.dashboard_host,
      dashboardPort: df.dashboard_port,
      commentsLimit: df.comments_limit,
      priority: mergePriority(priority, df.priority),
      backend: dfBackend,
    };
  }
  return {
    file: where.file,
    baseDir,
    pollIntervalMs: seconds(raw.poll_interval)!,
    maxConcurrentAgents: raw.max_concurrent_agents,
    clusterMaxConcurrentAgents: raw.cluster_max_concurrent_agents,
    coordination,
    defaultAgentTimeoutMs: seconds(raw.default_agent_timeout),
    apiHost: raw.api_host,
    apiPort: raw.api_port ?? DEFAULT_API_PORT,
    apiPortIsDefault: raw.api_port === undefined,
    apiAuth: raw.api.auth,
    killGraceMs: seconds(raw.kill_grace)!,
    retryDelayMs: seconds(raw.retry_delay)!,
    stallTimeoutMs: seconds(raw.stall_timeout),
    dailyBudgetUsd: raw.daily_budget_usd,
    minFreeMemory: raw.min_free_memory === undefined ? undefined : parseByteSize(raw.min_free_memory),
    maxLoadPerCpu: raw.max_load_per_cpu,
    stateDir,
    secretEnv,
    logFile: raw.log_file ? at(raw.log_file) : undefined,
    backend,
    routes,
    priority,
    dispatchFile,
    webhooks: {
      listen: raw.webhooks?.listen ? parseListen(raw.webhooks.listen, where.file) : undefined,
      giteaSecret: env[giteaSecretEnv] || undefined,
      giteaSecretEnv,
      plankaToken: env[plankaTokenEnv] || undefined,
      plankaTokenEnv,
    },
    env,
  };
}

function coordinationOf(raw: NonNullable<RawConfig['coordination']>, env: Record<string, string | undefined>): CoordinationConfig {
  const urlEnv = raw.postgres_url_env ?? 'DISPATCHER_DATABASE_URL';
  const url = env[urlEnv] || undefined;
  // The password alone too: a driver's message may quote it without the URL around it.
  if (url) {
    registerSecret(url);
    try {
      registerSecret(decodeURIComponent(new URL(url).password));
    } catch {
      // Not a URL: the connection says so, without repeating it.
    }
  }
  return { urlEnv, url, hostId: raw.host_id ?? (env.DISPATCHER_HOST_ID || hostname()), leaseTtlMs: Math.round(raw.lease_ttl * 1000) };
}

function parseListen(listen: string, file: string | undefined): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (port > 65535) throw new ConfigError(`${file ?? 'config'}: webhooks.listen: the port must be 0..65535 (got ${port})`);
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** Every queue the routes name: watched, in progress, success and failure. */
export function routedQueues(config: Config): string[] {
  const names = config.routes.flatMap((route) => [route.queue, route.inProgressQueue, route.onSuccessQueue, route.onFailureQueue]);
  return [...new Set(names.filter((name): name is string => Boolean(name)))];
}

/** The backend, or a clear error for commands that need one. */
export function requireBackend(config: Config): BackendConfig {
  if (!config.backend) throw new ConfigError(`${config.file ?? 'config'}: backend: is required (add a [backend] table with type and url)`);
  return config.backend;
}
