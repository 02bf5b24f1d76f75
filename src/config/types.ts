/** The normalised configuration every command works from. Paths are absolute, times in ms. */

import type { BackendOptions } from '../../adapters/types.ts';

export type BackendConfig = BackendOptions;

export interface RouteConfig {
  /** The queue this route watches. */
  queue: string;
  command: string;
  args: string[];
  inProgressQueue?: string;
  timeoutMs?: number;
  /** Template; resolved per task against the config folder. */
  cwd?: string;
  env: Record<string, string>;
  onSuccessQueue?: string;
  onFailureQueue?: string;
  maxAttempts: number;
  maxConcurrent?: number;
  /** With coordination: the route's agents on all hosts together. */
  clusterMaxConcurrent?: number;
  agent: string;
  structuredOutput: boolean;
  /** claude/codex: the agent gets the dispatcher's MCP server (`dispatcher mcp`) and its tools allowed. */
  mcp?: boolean;
  /** What a run that exited well but was refused tools becomes (see docs/agents.md); default "attention". */
  onPermissionDenial?: 'attention' | 'fail' | 'succeed';
  /** This route's stall limit (else the top-level one). */
  stallTimeoutMs?: number;
  maxCostUsd?: number;
  maxTokens?: number;
  /** false: leave the agent running when someone else moves its task out of the in-progress queue. */
  stopWhenMoved?: boolean;
  /** The route's workspace settings (top level merged with the route's own); undefined: none. */
  workspace?: WorkspaceConfig;
}

/** A hook's argv: the user's own program, or `/bin/sh -c <script>` when they asked for a shell. */
export type HookCommand = string[];

export type HookName = 'after_create' | 'before_run' | 'after_run' | 'before_remove';

export interface WorkspaceConfig {
  /** Absolute; each task's workspace is `root/<key>`. */
  root: string;
  git?: { repo: string; base: string; branch: string };
  hooks: Partial<Record<HookName, HookCommand>>;
  hookTimeoutMs: number;
  removeWhenIn: string[];
}

export type PriorityName = 'CRITICAL' | 'HIGH' | 'NORMAL' | 'LOW';

export interface DispatchFileConfig {
  repos: string[];
  owner?: string;
  tasksDir: string;
  intervalMs: number;
  ratePerMinute: number;
  logFile?: string;
  dashboardHost: string;
  dashboardPort: number;
  commentsLimit: number;
  /** Lower-cased label names / title prefixes per priority. */
  priority: Record<PriorityName, string[]>;
  backend: BackendConfig;
}

export interface WebhooksConfig {
  /** Serve /hooks/* on an address of their own; undefined: on the API's (or dispatch-file dashboard's) address. */
  listen?: { host: string; port: number };
  /** Gitea's webhook secret, from the environment; the Gitea receiver is on when it is set. */
  giteaSecret?: string;
  giteaSecretEnv: string;
  /** The access token Planka sends as Bearer, from the environment; the Planka receiver is on when it is set. */
  plankaToken?: string;
  plankaTokenEnv: string;
}

/** `[coordination]`: the ledger lives in PostgreSQL, shared by several hosts (docs/scale-out.md). */
export interface CoordinationConfig {
  /** The variable holding the database URL. */
  urlEnv: string;
  /** From the environment (or .env); a secret: never logged. */
  url?: string;
  hostId: string;
  leaseTtlMs: number;
}

export interface Config {
  /** The file the config came from; undefined for the built-in default. */
  file?: string;
  /** Folder relative paths resolve against. */
  baseDir: string;
  pollIntervalMs: number;
  maxConcurrentAgents: number;
  /** With coordination: agents on all hosts together. */
  clusterMaxConcurrentAgents?: number;
  /** Several hosts through PostgreSQL; undefined: the file ledger of this host alone. */
  coordination?: CoordinationConfig;
  defaultAgentTimeoutMs?: number;
  apiHost: string;
  apiPort: number;
  /** No api_port in the config: when the default port is taken, the API takes a free one (with a warning). */
  apiPortIsDefault?: boolean;
  apiAuth: 'token' | 'none';
  killGraceMs: number;
  retryDelayMs: number;
  stallTimeoutMs?: number;
  dailyBudgetUsd?: number;
  /** Bytes. */
  minFreeMemory?: number;
  maxLoadPerCpu?: number;
  stateDir: string;
  secretEnv: string[];
  logFile?: string;
  backend?: BackendConfig;
  routes: RouteConfig[];
  /** Lower-cased label names / title prefixes per priority: the router's dispatch order. */
  priority: Record<PriorityName, string[]>;
  dispatchFile?: DispatchFileConfig;
  /** Filled by normaliseConfig; absent in hand-made configs (tests). */
  webhooks?: WebhooksConfig;
  /** Environment with the config's .env applied (process env wins). Secrets live here only. */
  env: Record<string, string | undefined>;
}
