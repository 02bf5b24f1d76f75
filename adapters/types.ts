/**
 * The contracts between the dispatcher and its adapters.
 *
 * Glossary
 * - tracker: a system that holds tasks in queues (a Planka board, a JSON board file, Gitea issues).
 * - queue: a named place a task sits in. Planka: `Project.Board.List`; JSON: a key of `queues`;
 *   Gitea: `owner/repo`, `owner/repo:label` or `owner/repo:closed`.
 * - task: one unit of work (a card, an issue), normalised to {@link Task}. Ids are always strings.
 * - identity: the tracker user the dispatcher acts as (`whoami()`); a claim adds it to the assignees.
 * - tracker adapter: turns one tracker into Tasks and back ({@link TrackerAdapter}).
 * - agent adapter: knows how to start one kind of coding agent and read its output ({@link AgentAdapter}).
 *
 * Adapters import nothing from src/core, src/api or src/commands. They throw `AdapterError`
 * (src/errors.ts) with a kind, never an error carrying a credential.
 */

export interface Comment {
  author: string;
  text: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface Task {
  id: string;
  name: string;
  description: string;
  /** The queue the task is in now. */
  queue: string;
  labels: string[];
  /** User names (logins) of the assignees. */
  assignees: string[];
  comments: Comment[];
  /** A link a human can open; empty when the tracker has none. */
  url: string;
  /** ISO 8601; empty when the tracker does not say. */
  createdAt: string;
  updatedAt?: string;
  author?: string;
  /** Lower runs first. 0 CRITICAL, 1 HIGH, 2 NORMAL, 3 LOW when the adapter knows it. */
  priority?: number;
}

export interface CommentOptions {
  /**
   * Who the comment is from, e.g. "agent (claude, run mx9b…)", where the tracker lets the poster
   * choose (the JSON board). Trackers that post as their logged-in user ignore it.
   */
  author?: string;
}

export interface TaskUpdate {
  name?: string;
  description?: string;
  /** Replaces the labels (by name). */
  labels?: string[];
  /** Replaces the assignees (by user name). */
  assignees?: string[];
}

export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** A webhook on the tracker that points at the dispatcher (or anywhere, in a listing). */
export interface InstalledWebhook {
  /** Where it lives: `owner/repo` (Gitea), `instance` (Planka: webhooks are global). */
  scope: string;
  id: string;
  url: string;
  events: string[];
  active: boolean;
}

export interface WebhookChange {
  scope: string;
  action: 'created' | 'updated' | 'unchanged' | 'removed';
  url: string;
  id?: string;
}

/**
 * Optional: the tracker's own webhooks, for `dispatcher webhooks install|list|remove`. `scopes`
 * are the places a webhook is set on (Gitea: the routed `owner/repo`s; Planka ignores them).
 * `install` and `remove` are idempotent; with `dryRun` they say what they would do and change nothing.
 */
export interface WebhookAdmin {
  list(scopes: string[]): Promise<InstalledWebhook[]>;
  install(target: { url: string; secret: string; scopes: string[] }, dryRun: boolean): Promise<WebhookChange[]>;
  remove(target: { url: string; scopes: string[] }, dryRun: boolean): Promise<WebhookChange[]>;
}

/**
 * One tracker. All methods may throw `AdapterError`. The first six are the reference's protocol.
 */
export interface TrackerAdapter {
  /**
   * Tasks currently in any of the queues, each with `queue` set. Comments may be left empty here.
   * Unknown queue: AdapterError 'not_found' naming it in `queue` (the router then pauses only the
   * routes using it); any other error fails the whole poll.
   */
  getReadyTasks(queueNames: string[]): Promise<Task[]>;
  /** The full task, comments included. Unknown id: AdapterError 'not_found'. */
  getTask(taskId: string): Promise<Task>;
  /** Unknown task or queue: AdapterError 'not_found' (naming an unknown queue in `queue`). */
  moveTask(taskId: string, targetQueue: string): Promise<void>;
  /** Empty text is refused before it reaches the adapter. */
  addComment(taskId: string, text: string, options?: CommentOptions): Promise<void>;
  updateTask(taskId: string, update: TaskUpdate): Promise<void>;
  createTask(queueName: string, name: string, description: string): Promise<Task>;
  /** The user name the dispatcher acts as; added to a task's assignees when it is claimed. */
  whoami(): Promise<string>;
  /**
   * Optional: claim in one step — move to `inProgressQueue` and, when given, add `assignee` to the
   * assignees. Without it the router calls moveTask, then updateTask. A failed move must change nothing.
   * With `from`, only a task still in that queue is claimed; one that has left it is refused with
   * AdapterError 'conflict' and left alone. That guard lets the router fill a slot freed moments
   * after a poll from that poll's list.
   */
  claimTask?(taskId: string, inProgressQueue: string, assignee?: string, from?: string): Promise<void>;
  /**
   * The queues under a scope, for trackers that can list them. Gitea: every repository of a user
   * or organisation, as `owner/repo` (archived ones and those without issues left out). Unknown
   * scope: AdapterError 'not_found'.
   */
  listQueues?(scope: string): Promise<string[]>;
  /** Optional: the tracker's webhooks (Gitea, Planka 2.x). */
  webhooks?: WebhookAdmin;
  /** Release sockets, timers and files. */
  close?(): Promise<void>;
}

/** The `[backend]` table as written, with `url` and `path` not yet resolved. */
export interface BackendOptions {
  type: string;
  /** Tracker URL, or the board file for `json`. */
  url?: string;
  /** `module` backends: the file of the adapter module. */
  path?: string;
  /** Gitea: the environment variable holding the token (default GITEA_TOKEN). */
  token_env?: string;
  /** Seconds before one tracker request gives up. */
  request_timeout?: number;
  /** Free-form settings for a `module` backend. */
  options?: Record<string, unknown>;
}

export interface TrackerContext {
  options: BackendOptions;
  /** Every queue the config names (watched, in-progress, success, failure), when known. */
  queues?: string[];
  /** Folder of the config file: relative paths resolve against it. */
  baseDir: string;
  /** Environment, with `.env` applied. The only place an adapter finds credentials. */
  env: Record<string, string | undefined>;
  log: Logger;
}

export type TrackerFactory = (context: TrackerContext) => TrackerAdapter | Promise<TrackerAdapter>;

// ---------------------------------------------------------------------------------------------
// Agent adapters

export interface AgentLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** What an agent adapter learnt from a run's output. All fields optional. */
export interface AgentReport {
  /** false: the run failed even if the process exited 0 (e.g. Claude's `is_error`). */
  ok?: boolean;
  sessionId?: string;
  turns?: number;
  costUsd?: number;
  durationMs?: number;
  /** A short human summary of what the agent said at the end. */
  summary?: string;
  /** Why it failed, in the agent's words. */
  error?: string;
  /** A shell line a human can paste to continue the session. */
  resumeHint?: string;
  /** Token counts, when the agent reports them. */
  tokens?: TokenUsage;
  /** API requests the agent had to retry (Claude's `api_retry` events, Codex's reconnects). */
  apiRetries?: number;
  /** Why the last retried request failed, e.g. "overloaded (HTTP 529)". */
  lastApiRetryError?: string;
  /**
   * Tool calls the agent's own permission rules refused (Claude's `permission_denials`): the run
   * may end "successfully" without having done what it was asked.
   */
  permissionDenials?: PermissionDenial[];
}

export interface PermissionDenial {
  /** The tool's name, e.g. "Bash" or "mcp__dispatcher__task_comment". */
  tool: string;
  /** What it was asked to do, on one line (a shell command, a file path), when the agent says. */
  input?: string;
}

export interface TokenUsage {
  /** All input tokens, cached ones included. */
  input: number;
  /** The part of `input` served from the provider's prompt cache. */
  cachedInput: number;
  output: number;
}

export interface AgentOutputParser {
  /** Called with each complete stdout line, as it arrives. Must never throw. */
  onLine(line: string): void;
  /** The report so far (also called after a timeout or kill). */
  report(): AgentReport;
}

export interface AgentAdapter {
  /** Adjusts the launch (extra flags such as a session id). Must not mutate its input. */
  prepare(launch: AgentLaunch, options: AgentOptions): AgentLaunch;
  /** A parser for one run, or undefined when the output is not read. */
  createParser?(launch: AgentLaunch): AgentOutputParser;
}

export interface AgentOptions {
  /** Ask the agent for machine-readable output (default true). */
  structuredOutput: boolean;
  /** The route's spend limit per run, for agents that can enforce one themselves (Claude's --max-budget-usd). */
  maxCostUsd?: number;
  /** Wire the dispatcher's MCP server into the agent (route `mcp = true`). */
  mcp?: McpServerLaunch;
}

/** How an agent starts `dispatcher mcp`, and what it must hand it. */
export interface McpServerLaunch {
  /** The server's name as the agent knows it: Claude calls its tools `mcp__<name>__<tool>`. */
  name: string;
  command: string;
  args: string[];
  /** Variables the server needs from the agent's environment (names only: values stay in the environment). */
  envNames: string[];
}

export type AgentFactory = () => AgentAdapter;
