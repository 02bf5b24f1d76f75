/**
 * The few error classes of the dispatcher. Each has a stable `code`; only src/cli.ts turns them into
 * exit codes and human output. Messages never carry secrets: adapters redact before they throw.
 */

export type AdapterErrorKind =
  | 'auth' // credentials missing, wrong or not allowed (401/403)
  | 'not_found' // the task, queue or route does not exist (404)
  | 'conflict' // the change clashes with the tracker's state (409)
  | 'invalid' // the tracker refused the request as malformed (400/422) or a value is unknown to it
  | 'rate_limited' // the tracker asked us to slow down (429)
  | 'unavailable' // the tracker could not be reached or failed (connection errors, timeouts, 5xx)
  | 'bad_response'; // the tracker answered something we cannot read (HTML, bad JSON, wrong shape)

export class DispatcherError extends Error {
  readonly code: string;
  /** Extra lines for humans, printed under the message. */
  readonly detail?: string;
  constructor(code: string, message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = options?.detail;
  }
}

/** The configuration is missing, unreadable or invalid. */
export class ConfigError extends DispatcherError {
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super('E_CONFIG', message, options);
  }
}

/** The command line was used wrongly (bad argument, empty comment, ...). */
export class UsageError extends DispatcherError {
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super('E_USAGE', message, options);
  }
}

/** A tracker (or the dispatcher's own API used as one) failed. */
export class AdapterError extends DispatcherError {
  readonly kind: AdapterErrorKind;
  /** HTTP status from the tracker, when there was one. */
  readonly status?: number;
  /**
   * The queue that cannot be resolved, when that is what failed (a list renamed or deleted, a
   * repository or label missing, a queue not in the board): the router pauses the routes that use
   * it and keeps polling the others.
   */
  readonly queue?: string;
  constructor(kind: AdapterErrorKind, message: string, options?: { cause?: unknown; detail?: string; status?: number; queue?: string }) {
    super(`E_TRACKER_${kind.toUpperCase()}`, message, options);
    this.kind = kind;
    this.status = options?.status;
    this.queue = options?.queue;
  }
}

/** An agent could not be started or misbehaved in a way the dispatcher must report. */
export class AgentError extends DispatcherError {
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super('E_AGENT', message, options);
  }
}

/**
 * The ledger (`<state_dir>/ledger.json`) cannot be trusted: nothing that counts slots or settles
 * runs may go on from it. The file is left as it is; `dispatcher ledger rebuild` makes a new one.
 */
export class DamagedLedgerError extends DispatcherError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super('E_LEDGER', `the ledger ${file} is damaged (${problem}); nothing was changed. Run \`dispatcher ledger rebuild\`: it keeps the file and rebuilds the active runs from the live agents and the tracker (see "A damaged ledger" in docs/operations.md)`);
  }
}

/** The user has been told already; exit with this code and print nothing more. */
export class ExitError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitError';
  }
}

export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

export function notFound(what: string): AdapterError {
  return new AdapterError('not_found', what);
}

/** What a command needs to know of a tracker failure to choose its exit code. */
export interface TrackerFailure {
  kind: AdapterErrorKind;
  status?: number;
}

export function trackerFailureOf(error: unknown): TrackerFailure | undefined {
  return error instanceof AdapterError ? { kind: error.kind, ...(error.status === undefined ? {} : { status: error.status }) } : undefined;
}

export function isAdapterError(error: unknown, kind?: AdapterErrorKind): error is AdapterError {
  return error instanceof AdapterError && (kind === undefined || error.kind === kind);
}

/** A task's workspace could not be made ready or removed (git, a hook, a path outside its root). */
export class WorkspaceError extends DispatcherError {
  /** The end of the failing hook's or git's output, for the run comment. */
  readonly tail?: string;
  constructor(message: string, options?: { cause?: unknown; tail?: string }) {
    super('E_WORKSPACE', message, options);
    this.tail = options?.tail;
  }
}

/**
 * The [coordination] PostgreSQL database failed: unreachable (exit 3, like a tracker that does not
 * answer), refused the credentials (exit 5), or refused a statement (exit 1). The message never
 * holds the URL or its password.
 */
export class DatabaseError extends DispatcherError {
  constructor(
    readonly kind: 'unavailable' | 'auth' | 'failed',
    message: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(`E_DATABASE_${kind.toUpperCase()}`, message, options);
  }
}
