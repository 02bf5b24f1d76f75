import * as v from 'valibot';
import { agentKinds } from '../../adapters/registry.ts';

/**
 * The configuration file's schema: the reference's keys with their defaults, and ours beside them.
 * Keys are snake_case as users write them; load.ts normalises the result into a `Config`.
 */

/** Node's timers hold at most 2^31-1 ms (24.8 days); a longer wait would fire at once, over and over. */
/** The agent API's port when the config names none; taken by another program, a free one is used. */
export const DEFAULT_API_PORT = 8000;

export const MAX_SECONDS = 24 * 24 * 3600;
const atMost = (what: string) => v.maxValue<number, number, string>(MAX_SECONDS, `${what} must be at most ${MAX_SECONDS} seconds (24 days)`);
const seconds = (what: string) => v.pipe(v.number(`${what} must be a number of seconds`), v.minValue(0, `${what} must not be negative`), atMost(what));
const positiveInt = (what: string) => v.pipe(v.number(`${what} must be a whole number`), v.integer(`${what} must be a whole number`), v.minValue(1, `${what} must be at least 1`));
const nonEmpty = (what: string) => v.pipe(v.string(`${what} must be a string`), v.minLength(1, `${what} must not be empty`));
const port = v.pipe(v.number('must be a port number'), v.integer('must be a port number'), v.minValue(0, 'must be 0..65535'), v.maxValue(65535, 'must be 0..65535'));
const envName = v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'));
const usd = (what: string) => v.pipe(v.number(`${what} must be a number of US dollars`), v.minValue(0, `${what} must not be negative`));
/** A size such as "2GiB", "512MB" or a number of bytes (see supervise/host-pressure.ts). */
const byteSize = v.union([v.pipe(v.number(), v.minValue(0, 'must not be negative')), v.pipe(v.string(), v.regex(/^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i, 'must be a size such as "2GiB" or "512MB"'))], 'must be a size such as "2GiB" or a number of bytes');
const stringList = v.array(v.string('must be a list of strings'), 'must be a list of strings');

export const backendSchema = v.strictObject({
  type: nonEmpty('type'),
  /** Tracker URL, or the board file for `json`. */
  url: v.optional(v.string('must be a string (a URL, or a file path for json)')),
  /** `module` backends: the file of the adapter module. */
  path: v.optional(v.string()),
  /** Gitea: the environment variable holding the token (default GITEA_TOKEN). */
  token_env: v.optional(envName),
  /** Seconds before one tracker request gives up (default 30). */
  request_timeout: v.optional(seconds('request_timeout')),
  /** Free-form settings for a `module` backend, handed to it as they are. */
  options: v.optional(v.record(v.string(), v.unknown())),
});

/** A hook: an argv array (no shell), or `{ sh = "..." }`, a script the user runs through /bin/sh -c. */
const hookSchema = v.union(
  [
    v.pipe(v.array(v.string(), 'must be an argv array of strings'), v.minLength(1, 'must name a program')),
    v.strictObject({ sh: nonEmpty('sh') }),
  ],
  'must be an argv array (["npm", "ci"]) or { sh = "a script for /bin/sh -c" }',
);

export const workspaceGitSchema = v.strictObject({
  /** The repository the worktrees belong to; relative to the config. */
  repo: v.optional(nonEmpty('repo')),
  base: v.optional(nonEmpty('base')),
  /** Template; placeholders get their workspace-key form. */
  branch: v.optional(nonEmpty('branch')),
});

/** `[workspace]`, and a route's `workspace` table: every key may be set in either (the route's wins). */
export const workspaceSchema = v.strictObject({
  root: v.optional(nonEmpty('root')),
  git: v.optional(workspaceGitSchema),
  after_create: v.optional(hookSchema),
  before_run: v.optional(hookSchema),
  after_run: v.optional(hookSchema),
  before_remove: v.optional(hookSchema),
  hook_timeout: v.optional(v.pipe(v.number('hook_timeout must be a number of seconds'), v.minValue(0.001, 'hook_timeout must be above 0'), atMost('hook_timeout'))),
  /** Queues whose tasks' workspaces are removed (default none). */
  remove_when_in: v.optional(stringList),
});

export const routeSchema = v.strictObject({
  command: nonEmpty('command'),
  args: v.optional(stringList, []),
  in_progress_queue: v.optional(nonEmpty('in_progress_queue')),
  timeout: v.optional(seconds('timeout')),
  cwd: v.optional(nonEmpty('cwd')),
  env: v.optional(v.record(v.string(), v.string('env values must be strings')), {}),
  on_success_queue: v.optional(nonEmpty('on_success_queue')),
  on_failure_queue: v.optional(nonEmpty('on_failure_queue')),
  max_attempts: v.optional(positiveInt('max_attempts'), 1),
  max_concurrent: v.optional(positiveInt('max_concurrent')),
  /** With [coordination]: at most this many of the route's agents on all hosts together. */
  cluster_max_concurrent: v.optional(positiveInt('cluster_max_concurrent')),
  agent: v.optional(v.picklist(agentKinds, `must be one of: ${agentKinds.map((kind) => `"${kind}"`).join(', ')}`), 'command'),
  /** Agent adapters: ask the agent for machine-readable output (default true). */
  structured_output: v.optional(v.boolean('must be true or false'), true),
  /** claude/codex: start `dispatcher mcp` inside the agent, its task tools allowed. */
  mcp: v.optional(v.boolean('must be true or false'), false),
  /** A run that exited well but was refused tools: held for a human (default), failed, or a success. */
  on_permission_denial: v.optional(v.picklist(['attention', 'fail', 'succeed'], 'must be "attention", "fail" or "succeed"'), 'attention'),
  /** Stop a run whose log has not grown for this long (outcome `stalled`); overrides the top-level one. */
  stall_timeout: v.optional(seconds('stall_timeout')),
  /** Stop a run that reports spending more than this (outcome `over_budget`); claude also gets --max-budget-usd. */
  max_cost_usd: v.optional(usd('max_cost_usd')),
  /** Stop a run that reports more tokens than this, input and output together (outcome `over_budget`). */
  max_tokens: v.optional(positiveInt('max_tokens')),
  /** Stop the agent when someone else moves its task out of the in-progress queue (default true). */
  stop_when_moved: v.optional(v.boolean('must be true or false'), true),
  /** The route's own workspace settings, over the top-level [workspace]. */
  workspace: v.optional(workspaceSchema),
});

export const apiSchema = v.strictObject({
  /** "token": per-run tokens and an operator token; "none": open, the reference's behaviour. */
  auth: v.optional(v.picklist(['token', 'none'], 'must be "token" or "none"'), 'token'),
});

export const webhooksSchema = v.strictObject({
  /** `host:port` serving only /hooks/* (and /healthz); without it the hooks are on the API's address. */
  listen: v.optional(v.pipe(v.string('must be "host:port"'), v.regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+):\d{1,5}$/, 'must be "host:port", e.g. "0.0.0.0:8099"'))),
  /** The variable holding Gitea's webhook secret (default GITEA_WEBHOOK_SECRET). */
  gitea_secret_env: v.optional(envName),
  /** The variable holding the access token Planka sends (default PLANKA_WEBHOOK_TOKEN). */
  planka_token_env: v.optional(envName),
});

const priorityLevels = v.strictObject({
  CRITICAL: v.optional(stringList),
  HIGH: v.optional(stringList),
  NORMAL: v.optional(stringList),
  LOW: v.optional(stringList),
});

export const dispatchFileSchema = v.strictObject({
  /** `owner/repo` names; or `owner` for every repository of a user or organisation. */
  repos: v.optional(v.array(v.pipe(v.string(), v.regex(/^[^/\s]+\/[^/\s]+$/, 'must be "owner/repo"')))),
  owner: v.optional(nonEmpty('owner')),
  tasks_dir: v.optional(nonEmpty('tasks_dir'), '.agent-tasks'),
  interval: v.optional(seconds('interval'), 60),
  /** Dispatches per minute at most. */
  rate_limit: v.optional(v.pipe(v.number(), v.minValue(0.001, 'rate_limit must be above 0'), v.maxValue(60_000, 'rate_limit must be at most 60000 per minute')), 1),
  log_file: v.optional(v.string()),
  dashboard_host: v.optional(v.string(), '127.0.0.1'),
  dashboard_port: v.optional(port, 8098),
  /** How many of the latest comments a task file carries. */
  comments_limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 10),
  /** Label names and title prefixes that mean each priority (case-insensitive). */
  priority: v.optional(priorityLevels),
  /** Tracker settings for dispatch-file alone; the top-level [backend] otherwise. */
  backend: v.optional(backendSchema),
});

/** `[coordination]`: several hosts share one PostgreSQL ledger (docs/scale-out.md). */
export const coordinationSchema = v.strictObject({
  /** The variable holding the database URL (default DISPATCHER_DATABASE_URL); the URL itself never sits in the config. */
  postgres_url_env: v.optional(envName),
  /** This host's name in the cluster; default $DISPATCHER_HOST_ID, else the hostname. */
  host_id: v.optional(v.pipe(nonEmpty('host_id'), v.maxLength(200, 'host_id must be at most 200 characters'), v.regex(/^[\x21-\x7e]+$/, 'host_id must be printable ASCII without spaces'))),
  /** Seconds a host's lease lasts without a heartbeat before another host takes its runs over. */
  lease_ttl: v.optional(v.pipe(v.number('lease_ttl must be a number of seconds'), v.minValue(1, 'lease_ttl must be at least 1 second'), v.maxValue(3600, 'lease_ttl must be at most 3600 seconds')), 30),
});

export const configSchema = v.strictObject({
  poll_interval: v.optional(v.pipe(v.number('must be a number of seconds'), v.minValue(0.05, 'must be at least 0.05'), atMost('poll_interval')), 30),
  max_concurrent_agents: v.optional(positiveInt('max_concurrent_agents'), 3),
  /** With [coordination]: at most this many agents on all hosts together. */
  cluster_max_concurrent_agents: v.optional(positiveInt('cluster_max_concurrent_agents')),
  default_agent_timeout: v.optional(seconds('default_agent_timeout')),
  api_host: v.optional(nonEmpty('api_host'), '127.0.0.1'),
  /** Default DEFAULT_API_PORT, given by normaliseConfig: it must know whether the port was chosen. */
  api_port: v.optional(port),
  kill_grace: v.optional(seconds('kill_grace'), 5),
  /** Stop a run whose log has not grown for this long (outcome `stalled`); default: never. */
  stall_timeout: v.optional(seconds('stall_timeout')),
  /** Once runs that ended today (local time) cost this much, no new run starts until midnight. */
  daily_budget_usd: v.optional(usd('daily_budget_usd')),
  /** No new agent starts while the host has less memory available than this (MemAvailable). */
  min_free_memory: v.optional(byteSize),
  /** No new agent starts while the 1-minute load average per CPU is above this. */
  max_load_per_cpu: v.optional(v.pipe(v.number('must be a number'), v.minValue(0, 'must not be negative'))),
  /** First wait before a failed run is retried; doubles per attempt, at most 10 minutes. */
  retry_delay: v.optional(seconds('retry_delay'), 10),
  state_dir: v.optional(nonEmpty('state_dir'), '.dispatcher'),
  /** Extra environment variable names that must never reach an agent. */
  secret_env: v.optional(stringList, []),
  log_file: v.optional(v.string()),
  backend: v.optional(backendSchema),
  routing: v.optional(v.record(v.string(), routeSchema), {}),
  api: v.optional(apiSchema, { auth: 'token' }),
  /** Label names and title prefixes per priority, for the router's order (and dispatch-file's by default). */
  priority: v.optional(priorityLevels),
  dispatch_file: v.optional(dispatchFileSchema),
  webhooks: v.optional(webhooksSchema),
  /** A folder (or git worktree) per task, with lifecycle hooks. */
  workspace: v.optional(workspaceSchema),
  coordination: v.optional(coordinationSchema),
});

export type RawConfig = v.InferOutput<typeof configSchema>;
export type RawBackend = v.InferOutput<typeof backendSchema>;
export type RawRoute = v.InferOutput<typeof routeSchema>;
export type RawWorkspace = v.InferOutput<typeof workspaceSchema>;
