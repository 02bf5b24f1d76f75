import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, type Stats, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createLineSplitter, DEFAULT_MAX_LINE_LENGTH, type LineSplitter } from './line-splitter.ts';
import { statPath } from '../../util/fd-calls.ts';
import { inFolderSync } from '../../util/missing-folder.ts';
import { LogFollower } from './log-follower.ts';
import { DEFAULT_MAX_LOG_BYTES, openLogForAppend, type OpenedLog, openRunLog, readLogTail } from './output-log.ts';
import { isProcessGroupAlive, MAX_TIMER_MS, terminateProcessGroup, type TerminationResult } from './process-group.ts';
import { fromShellStatus, ProgramError, readExitStatus, resolveProgram, WAITER_SHELL, waiterArgs } from './exit-status.ts';

export { findRunGroup, isProcessGroupAlive, killProcessGroup, processStartTicks } from './process-group.ts';
export { watchForeignGroup, type ForeignGroupOutcome, type ForeignGroupWatch } from './foreign-group.ts';
export { readExitStatus, type ExitStatus } from './exit-status.ts';

/**
 * Starts agents: argv (never a shell), an exact environment, a working folder, a process group of
 * their own, output to a log file, and TERM → grace → KILL to the whole group on timeout or stop.
 * Knows nothing of trackers. POSIX only.
 *
 * A run is over when its whole group is gone, not when the leader exits: processes the agent leaves
 * behind (a dev server, a stuck test runner) get TERM → grace → KILL too, and the outcome says
 * `strayProcesses: true`. A run never leaks processes.
 *
 * With `exitFile`, a waiter (src/core/process/exit-status.ts) leads the group and runs the agent: its
 * exit status is written to that file, for whichever dispatcher settles the run.
 */

/** What to run, where, and within which limits. */
export interface SpawnRequest {
  /** Program to run: a path, or a name looked up in `env.PATH`. */
  command: string;
  /** Passed as they are: no shell ever parses them. */
  args: string[];
  /** The agent's whole environment (nothing is merged in from ours). */
  env: Record<string, string>;
  /** Working folder; created (mkdir -p) when missing. */
  cwd: string;
  /** stdout and stderr are appended here; its folder is created. */
  logFile: string;
  /** The files made ready ahead of the spawn (see prepareAgentFiles): the spawner takes the log over. */
  prepared?: PreparedFiles;
  /** A line written to the log before the agent starts (e.g. "=== attempt 2 ..."). */
  header?: string;
  /** Cap on what this run writes to the log (default 10 MiB); then a marker and nothing more. Not enforced with `detach`. */
  maxLogBytes?: number;
  /** Stop the agent (outcome `timed_out`) after this long; undefined: no limit. */
  timeoutMs?: number;
  /** After SIGTERM to the group, how long before SIGKILL. */
  killGraceMs: number;
  /**
   * Each complete line of output as it arrives (also a last line without newline). stdout and
   * stderr share the log file, so both come here, in the order they were written.
   */
  onLine?: (line: string) => void;
  /** Lines longer than this (UTF-16 units, default 1 Mi) reach the callbacks cut. */
  maxLineLength?: number;
  /** Aborting stops the agent (TERM → grace → KILL), outcome `stopped`. Already aborted: it never starts. */
  signal?: AbortSignal;
  /**
   * The agent may outlive this process: its output goes straight to the log file (no callbacks,
   * no cap) and nothing of it holds our event loop. `done` still resolves if we stay alive.
   */
  detach?: boolean;
  /**
   * Where the agent's exit status is written when it ends, by a waiter that leads its group (read it
   * with readExitStatus). The agent's status then survives us: another dispatcher can read it.
   */
  exitFile?: string;
}

/** `lost`: the agent ended (or its group did) but nobody recorded its exit status: its waiter was killed. */
export type SpawnOutcomeKind = 'exited' | 'timed_out' | 'start_failed' | 'stopped' | 'lost';

export interface SpawnOutcome {
  kind: SpawnOutcomeKind;
  /** The leader's exit code; null when a signal ended it or it never started. */
  exitCode: number | null;
  /** The signal that ended the leader, e.g. "SIGTERM". */
  signal: string | null;
  /** From start until the whole group was gone and the log flushed. */
  durationMs: number;
  /** Why it could not start, e.g. "command not found: claude" (or, never expected, why supervising it failed). */
  error?: string;
  /** The `reason` given to stop(), or "aborted". */
  stopReason?: string;
  /** The last ~4 KB of combined output. */
  tail: string;
  /** SIGKILL was needed: something outlived the grace period after SIGTERM. */
  forcedKill: boolean;
  /** The leader exited by itself but left processes in its group, which were then stopped. */
  strayProcesses: boolean;
  /** Output went past `maxLogBytes`. */
  logTruncated: boolean;
}

export interface RunningAgent {
  /** The leader of the run's group: the agent, or its waiter (`exitFile`). undefined when it never started. */
  pid: number | undefined;
  /** The run's process group (equal to pid: it leads its own). */
  pgid: number | undefined;
  /** Epoch ms. */
  startedAt: number;
  /** Resolves once, never rejects. */
  done: Promise<SpawnOutcome>;
  /** Stops the agent (TERM → grace → KILL to its group); resolves with `done`. No effect once it has exited. */
  stop(reason?: string): Promise<SpawnOutcome>;
  /**
   * Leaves the agent running on its own (the dispatcher is going away; the next one adopts it):
   * stops following its log and enforcing its deadline, and no longer holds our event loop.
   * `done` then never resolves.
   */
  release(): void;
}

/** How often a running agent's log is read for new lines. */
const FOLLOW_MS = 100;

/**
 * Starts an agent and supervises it until its whole process group is gone. Never throws: a command
 * that cannot start (not found, not executable, unusable cwd or log file) resolves `done` with
 * `start_failed` and a readable `error`. The working folder and the log folder are created.
 */
export function spawnAgent(request: SpawnRequest): RunningAgent {
  const startedAt = Date.now();
  const { prepared } = request;
  if (request.signal?.aborted) {
    if (prepared) closeSync(prepared.log.fd);
    return notStarted(startedAt, { kind: 'stopped', stopReason: abortReason(request.signal) });
  }
  let log: OpenedLog;
  try {
    if (!prepared?.cwdIsFolder) prepareWorkingFolder(request.cwd);
  } catch (error) {
    if (prepared) closeSync(prepared.log.fd);
    return notStarted(startedAt, { kind: 'start_failed', error: (error as Error).message });
  }
  try {
    log = prepared?.log ?? openLog(request);
  } catch (error) {
    return notStarted(startedAt, { kind: 'start_failed', error: (error as Error).message });
  }

  let child: ChildProcess;
  try {
    const [command, args] = request.exitFile
      ? [WAITER_SHELL, waiterArgs(request.exitFile, resolveProgram(request.command, request.env.PATH, request.cwd), request.args)]
      : [request.command, request.args];
    child = spawn(command, args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      // Output goes straight into the log file, never into a pipe of ours: the agent survives a
      // restart or a crash of the dispatcher. We follow the file for lines and the tail.
      stdio: ['ignore', log.fd, log.fd],
    });
  } catch (error) {
    return failedStart(request, log.fd, startedAt, error);
  }
  if (child.pid === undefined) return failedStart(request, log.fd, startedAt, undefined, child);
  return supervise(request, child, child.pid, log, startedAt);
}

function prepareWorkingFolder(cwd: string): void {
  let info: Stats | undefined;
  try {
    info = statSync(cwd, { throwIfNoEntry: false });
  } catch {
    // ENOTDIR and the like: mkdir below says it in its own words
  }
  if (info) {
    if (!info.isDirectory()) throw new Error(`working folder is not a folder: ${cwd}`);
    return;
  }
  try {
    mkdirSync(cwd, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create working folder ${cwd}: ${errorText(error)}`);
  }
}

function openLog(request: SpawnRequest): OpenedLog {
  try {
    return inFolderSync(dirname(request.logFile), () => openLogForAppend(request.logFile, request.header));
  } catch (error) {
    throw new Error(`cannot open log file ${request.logFile}: ${errorText(error)}`);
  }
}

/** The log, opened with its header written, and whether the working folder is there already. */
export interface PreparedFiles {
  log: OpenedLog;
  cwdIsFolder: boolean;
}

/**
 * Opens the log (writing the header) and looks at the working folder on the thread pool, so that
 * the spawn itself, on the main thread, does no more than fork: for the dispatcher, while the
 * task is being claimed. What cannot be done here is left to spawnAgent, which says why it fails.
 */
export async function prepareAgentFiles(request: Pick<SpawnRequest, 'cwd' | 'logFile' | 'header'>): Promise<PreparedFiles> {
  const [log, cwd] = await Promise.all([openRunLog(request.logFile, request.header), statPath(request.cwd).catch(() => undefined)]);
  return { log, cwdIsFolder: cwd?.isDirectory() ?? false };
}

function errorText(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

function notStarted(startedAt: number, fields: Pick<SpawnOutcome, 'kind' | 'error' | 'stopReason'>): RunningAgent {
  const done = Promise.resolve<SpawnOutcome>({
    exitCode: null,
    signal: null,
    durationMs: Date.now() - startedAt,
    tail: '',
    forcedKill: false,
    strayProcesses: false,
    logTruncated: false,
    ...fields,
  });
  return { pid: undefined, pgid: undefined, startedAt, done, stop: () => done, release: () => {} };
}

/** spawn() either threw, or returned without a pid and emits the reason as 'error' on the next tick. */
function failedStart(request: SpawnRequest, logFd: number, startedAt: number, thrown: unknown, child?: ChildProcess): RunningAgent {
  child?.on('error', () => {});
  const reason = child
    ? new Promise<unknown>((resolveReason) => child.once('error', resolveReason))
    : Promise.resolve(thrown);
  const done = reason.then(async (error) => {
    const message = describeStartError(error, request);
    try {
      writeSync(logFd, `[dispatcher] could not start: ${message}\n`);
    } catch {
      // The log is a courtesy here; the outcome carries the reason.
    } finally {
      closeSync(logFd);
    }
    return {
      kind: 'start_failed' as const,
      exitCode: null,
      signal: null,
      durationMs: Date.now() - startedAt,
      error: message,
      tail: '',
      forcedKill: false,
      strayProcesses: false,
      logTruncated: false,
    };
  });
  return { pid: undefined, pgid: undefined, startedAt, done, stop: () => done, release: () => {} };
}

function describeStartError(error: unknown, request: SpawnRequest): string {
  if (error instanceof ProgramError) return error.message;
  const { command } = request;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    // Checked ahead of the spawn, but it can go in the meantime.
    if (!existsSync(request.cwd)) return `working folder does not exist: ${request.cwd}`;
    if (!command.includes('/')) {
      return request.env.PATH === undefined ? `command not found: ${command} (PATH is not set in the agent's environment)` : `command not found: ${command}`;
    }
    if (existsSync(resolve(request.cwd, command))) return `cannot start ${command}: its interpreter (the #! line) was not found`;
    return `command not found: ${command}`;
  }
  if (code === 'EACCES') return `permission denied: ${command} (is it executable?)`;
  return `cannot start ${command}: ${(error as Error | undefined)?.message ?? String(error)}`;
}

type StopRequest = { kind: 'timed_out' | 'stopped'; reason?: string };

function supervise(request: SpawnRequest, child: ChildProcess, pid: number, logFile: OpenedLog, startedAt: number): RunningAgent {
  const detach = request.detach === true;
  const pgid = pid;
  child.on('error', () => {}); // kill() is never used on it; an 'error' must not become an uncaught exception

  let follower: LogFollower | undefined;
  let splitter: LineSplitter | undefined;
  if (detach) {
    closeSync(logFile.fd); // the agent holds its own copy
    child.unref();
  } else {
    splitter = lineSplitterFor(request);
    const lines = splitter;
    follower = new LogFollower(logFile.fd, logFile.outputStart, request.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES, (chunk) => lines?.push(chunk));
    follower.follow(FOLLOW_MS);
  }

  let leaderExited = false;
  const leaderExit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      leaderExited = true;
      resolveExit({ code, signal });
    });
  });

  let stopRequest: StopRequest | undefined;
  let wake!: () => void;
  const stopRequested = new Promise<void>((resolveStop) => {
    wake = resolveStop;
  });
  const requestStop = (wanted: StopRequest) => {
    if (stopRequest || leaderExited) return;
    stopRequest = wanted;
    wake();
  };

  const cancelTimeout = request.timeoutMs === undefined ? () => {} : startTimer(request.timeoutMs, !detach, () => requestStop({ kind: 'timed_out' }));
  const onAbort = () => requestStop({ kind: 'stopped', reason: abortReason(request.signal!) });
  request.signal?.addEventListener('abort', onAbort, { once: true });

  async function run(): Promise<SpawnOutcome> {
    await Promise.race([leaderExit, stopRequested]);
    const terminate = () => terminateProcessGroup(pgid, { graceMs: request.killGraceMs, ref: !detach });
    let termination: TerminationResult | undefined;
    let strayProcesses = false;
    if (stopRequest) {
      termination = await terminate();
    } else if (isProcessGroupAlive(pgid)) {
      strayProcesses = true;
      termination = await terminate();
    }
    const exit = exitOfAgent(request, await leaderExit);
    cancelTimeout();
    request.signal?.removeEventListener('abort', onAbort);

    let tail: string;
    if (follower) {
      tail = follower.finish();
      splitter?.end();
    } else {
      tail = readLogTail(request.logFile, logFile.outputStart);
    }
    return {
      kind: stopRequest?.kind ?? (exit.lost ? 'lost' : 'exited'),
      exitCode: exit.code,
      signal: exit.signal,
      durationMs: Date.now() - startedAt,
      ...(exit.lost && !stopRequest ? { error: exit.lost } : {}),
      ...(stopRequest?.reason === undefined ? {} : { stopReason: stopRequest.reason }),
      tail,
      forcedKill: termination?.killed ?? false,
      strayProcesses,
      logTruncated: follower?.truncated ?? false,
    };
  }

  const done = run().catch(
    (error: unknown): SpawnOutcome => ({
      kind: stopRequest?.kind ?? 'exited',
      exitCode: null,
      signal: null,
      durationMs: Date.now() - startedAt,
      error: `supervising the agent failed: ${(error as Error).message}`,
      tail: follower?.tail() ?? '',
      forcedKill: false,
      strayProcesses: false,
      logTruncated: follower?.truncated ?? false,
    }),
  );
  return {
    pid,
    pgid,
    startedAt,
    done,
    stop(reason) {
      requestStop({ kind: 'stopped', reason });
      return done;
    },
    release() {
      cancelTimeout();
      request.signal?.removeEventListener('abort', onAbort);
      follower?.detach();
      child.unref();
    },
  };
}

/**
 * How the agent ended: the leader's exit, or with a waiter, the agent's status as the waiter passed
 * it on. We are the waiter's parent, so its own exit says it: the waiter exits with the status it
 * wrote to the exit file (the file is for a dispatcher that is not its parent). A waiter killed by a
 * signal may have written the file first; without it, `lost` says why nobody knows.
 */
function exitOfAgent(request: SpawnRequest, leader: { code: number | null; signal: NodeJS.Signals | null }): { code: number | null; signal: string | null; lost?: string } {
  if (!request.exitFile) return leader;
  if (leader.code !== null) {
    const { exitCode, signal } = fromShellStatus(leader.code);
    return { code: exitCode, signal };
  }
  const status = readExitStatus(request.exitFile);
  if (status) return { code: status.exitCode, signal: status.signal };
  return { code: null, signal: leader.signal, lost: `the agent's exit status was not recorded: its waiter was killed by ${leader.signal}` };
}

/** A splitter of the output into lines for `onLine`; none when nobody wants lines. */
function lineSplitterFor(request: SpawnRequest): LineSplitter | undefined {
  const { onLine } = request;
  if (!onLine) return undefined;
  return createLineSplitter((line) => {
    try {
      onLine(line);
    } catch {
      // A callback's bug must not take the supervision of the agent down with it.
    }
  }, request.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH);
}

/** setTimeout for any length (longer than ~24.8 days is re-armed). Returns a cancel function. */
function startTimer(ms: number, ref: boolean, onFire: () => void): () => void {
  const due = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = due - Date.now();
    timer = setTimeout(left > MAX_TIMER_MS ? arm : onFire, Math.min(Math.max(0, left), MAX_TIMER_MS));
    if (!ref) timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'aborted';
}
