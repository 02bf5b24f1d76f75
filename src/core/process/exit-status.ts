import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, resolve } from 'node:path';

/**
 * Exit statuses that outlive the dispatcher. Only a process's parent can wait() for it, so an agent
 * whose dispatcher is gone (poll-once --detach, a restart, kill -9) would end without anyone learning
 * how. Each agent is therefore started by a tiny waiter: `/bin/sh -c <WAITER_SCRIPT> dispatcher-wait
 * <exit file> <program path> <args…>`. The waiter leads the run's process group, runs the agent in
 * the foreground as `"$@"`, and writes `status <n>\n` to the exit file when it ends; whichever
 * dispatcher settles the run reads it. docs/architecture.md says why this keeps task text away from
 * any shell, and what each part of the script is for.
 */

/**
 * Constant text, never built from input. `"$@"` is the agent's argv as given: positional parameters
 * are not parsed, split, globbed or expanded. The traps keep the waiter alive through a TERM (or the
 * like) sent to the whole group, so the agent's status still gets written; the shell runs them only
 * after its foreground command has ended, and the agent starts with every signal at its default.
 * One write(2) of a short line: a reader sees the whole line or none of it (readExitStatus checks).
 * The waiter then exits with the same status, for its parent when the file could not be written
 * (a full disk).
 */
export const WAITER_SCRIPT = `trap : HUP INT QUIT TERM USR1 USR2 ALRM PIPE
e=$1
shift
"$@"
s=$?
printf 'status %s\\n' "$s" >"$e"
exit "$s"`;

export const WAITER_SHELL = '/bin/sh';
/** The waiter's $0, as `ps` shows it. */
export const WAITER_NAME = 'dispatcher-wait';

/** The argv of the waiter that runs `program` (a path, never a bare name: see resolveProgram). */
export function waiterArgs(exitFile: string, program: string, args: readonly string[]): string[] {
  return ['-c', WAITER_SCRIPT, WAITER_NAME, exitFile, program, ...args];
}

export interface ExitStatus {
  /** The exit code; null when a signal ended the agent. */
  exitCode: number | null;
  /** The signal that ended the agent, e.g. "SIGTERM". */
  signal: string | null;
  /** When the status was written (epoch ms): the agent's end. */
  endedAt: number;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(os.signals).map(([name, number]) => [number, name]));

/**
 * The status the waiter wrote, or undefined when there is none (yet): the file is missing, or is
 * not one whole `status <n>` line (a waiter killed while writing). A shell reports a death by signal
 * N as 128 + N, as it does in `$?`; a status in that range is read as the signal.
 */
export function readExitStatus(file: string): ExitStatus | undefined {
  let text: string;
  let endedAt: number;
  try {
    text = readFileSync(file, 'latin1');
    endedAt = statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  const match = /^status (\d{1,3})\n$/.exec(text);
  if (!match) return undefined;
  return { ...fromShellStatus(Number(match[1])), endedAt };
}

/** A shell's `$?`: 128 + N for a death by signal N, else the exit code. */
export function fromShellStatus(status: number): { exitCode: number | null; signal: string | null } {
  const signal = status > 128 ? SIGNAL_NAMES.get(status - 128) : undefined;
  return signal ? { exitCode: null, signal } : { exitCode: status, signal: null };
}

/** Why a program cannot be started, in the words spawn errors get (see the spawner). */
export class ProgramError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'EACCES',
  ) {
    super(message);
  }
}

/**
 * How long a program, once found, is taken to stay where it was. A burst of dispatches to one agent
 * command then looks it up once: each look-up is a few `stat`s and a read, and for every PATH entry
 * that misses, an exception. A program removed or replaced within that second fails in its waiter
 * (exit 127 or 126, as a shell says it) instead of failing to start.
 */
const FOUND_FOR_MS = 1_000;
/** Programs found since `foundSince`, by cwd, PATH and command; emptied whole every FOUND_FOR_MS. */
let found = new Map<string, string>();
let foundSince = 0;

/**
 * The path the kernel would run for `command` (a bare name is looked up in `path`, as execvp does),
 * checked the way exec would fail: missing, not executable, or a `#!` interpreter that is missing.
 * The waiter gets a path, never a bare name, so its shell can never take the command for a builtin.
 * What was found is remembered for a second (FOUND_FOR_MS); what was not is looked up every time.
 */
export function resolveProgram(command: string, path: string | undefined, cwd: string, now = Date.now()): string {
  // A clock set back starts a new second too.
  if (now < foundSince || now - foundSince >= FOUND_FOR_MS) {
    found = new Map();
    foundSince = now;
  }
  const key = `${cwd}\0${path}\0${command}`;
  let program = found.get(key);
  if (program === undefined) {
    program = lookUpProgram(command, path, cwd);
    found.set(key, program);
  }
  return program;
}

function lookUpProgram(command: string, path: string | undefined, cwd: string): string {
  if (command.includes('/')) {
    checkExecutable(resolve(cwd, command), command, cwd);
    return command;
  }
  const dirs = path === undefined ? [] : path.split(delimiter);
  let denied = false;
  for (const dir of dirs) {
    const candidate = resolve(cwd, dir, command);
    try {
      checkExecutable(candidate, command, cwd);
      return candidate;
    } catch (error) {
      if ((error as ProgramError).code === 'EACCES') denied = true;
    }
  }
  if (denied) throw new ProgramError(`permission denied: ${command} (is it executable?)`, 'EACCES');
  throw new ProgramError(path === undefined ? `command not found: ${command} (PATH is not set in the agent's environment)` : `command not found: ${command}`, 'ENOENT');
}

const head = Buffer.alloc(256);

function checkExecutable(file: string, command: string, cwd: string): void {
  let info;
  try {
    info = statSync(file);
  } catch {
    throw new ProgramError(`command not found: ${command}`, 'ENOENT');
  }
  if (!info.isFile()) throw new ProgramError(`permission denied: ${command} (is it executable?)`, 'EACCES');
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new ProgramError(`permission denied: ${command} (is it executable?)`, 'EACCES');
  }
  const interpreter = shebangInterpreter(file);
  if (interpreter !== undefined && !isExecutableFile(resolve(cwd, interpreter))) {
    throw new ProgramError(`cannot start ${command}: its interpreter (the #! line) was not found`, 'ENOENT');
  }
}

/** The program named on a script's `#!` line; undefined for anything else (or an unreadable file). */
function shebangInterpreter(file: string): string | undefined {
  let fd: number | undefined;
  let length = 0;
  try {
    fd = openSync(file, 'r');
    length = readSync(fd, head, 0, head.length, 0);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (length < 3 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const line = head.toString('latin1', 2, length).split('\n')[0].trim();
  return line.split(/[ \t]/)[0] || undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
