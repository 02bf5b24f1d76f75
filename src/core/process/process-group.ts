import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/**
 * Process groups, the unit the dispatcher stops: every agent leads its own group, so one signal to
 * `-pgid` reaches the agent and everything it started (shells, compilers, test servers).
 *
 * A zombie does not count as alive. Some init processes (containers, micro-VMs) never reap orphans,
 * so `kill(-pgid, 0)` alone would report a finished group as running forever; on Linux the members'
 * states are read from /proc instead.
 */

/** The longest delay setTimeout accepts; longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

function assertGroupId(pgid: number): void {
  // -0 is our own group and -1 is every process we may signal: never let a bad id reach kill().
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`refusing to signal process group ${pgid}`);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Sends `signal` to every process of the group. false when the group is gone (or not ours to signal). */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  assertGroupId(pgid);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ESRCH' || errorCode(error) === 'EPERM') return false;
    throw error;
  }
}

/** true while at least one member of the group is running (zombies excluded where /proc tells). */
export function isProcessGroupAlive(pgid: number): boolean {
  assertGroupId(pgid);
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if (errorCode(error) === 'ESRCH') return false;
    if (errorCode(error) === 'EPERM') return true;
    throw error;
  }
  return process.platform === 'linux' ? groupHasLiveMember(pgid) : true;
}

export interface ProcStat {
  state: string;
  pgrp: number;
  startTicks: string;
}

/** One buffer for every read: a stat line is far shorter, and reads are synchronous. */
const statBuffer = Buffer.allocUnsafe(4096);

export function readProcStat(pid: string | number): ProcStat | undefined {
  let text: string;
  let fd: number | undefined;
  try {
    // open + read + close: a third of what readFileSync costs on a /proc file (no size to stat).
    fd = openSync(`/proc/${pid}/stat`, 'r');
    text = statBuffer.toString('latin1', 0, readSync(fd, statBuffer, 0, statBuffer.length, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], pgrp: Number(fields[2]), startTicks: fields[19] };
}

export function isLive(stat: ProcStat | undefined, pgid: number): boolean {
  return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X';
}

/** The pids in /proc; undefined where there is no /proc to look into. */
export function procPids(): string[] | undefined {
  try {
    return readdirSync('/proc').filter((name) => name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57);
  } catch {
    return undefined;
  }
}

function groupHasLiveMember(pgid: number): boolean {
  if (isLive(readProcStat(pgid), pgid)) return true;
  const pids = procPids();
  if (!pids) return true; // no /proc to look into: trust kill(0)
  for (const name of pids) {
    if (isLive(readProcStat(name), pgid)) return true;
  }
  return false;
}

/**
 * When the process started, in clock ticks since boot (Linux), or undefined when it is gone or
 * unknown. Stored beside a pid, it tells an adopted agent from a later process that reused the pid.
 */
export function processStartTicks(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return readProcStat(pid)?.startTicks;
}

/** Clock ticks per second of /proc's times: USER_HZ, 100 on every Linux architecture in use. */
const USER_HZ = 100;
let bootTimeMs: number | undefined;

/**
 * When the process started (epoch ms, to the hundredth of a second), from its start ticks and the
 * boot time in /proc/stat; undefined when it is gone or /proc cannot say.
 */
export function processStartedAt(pid: number): number | undefined {
  const ticks = processStartTicks(pid);
  if (ticks === undefined) return undefined;
  if (bootTimeMs === undefined) {
    try {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
      if (btime === undefined) return undefined;
      bootTimeMs = Number(btime) * 1000;
    } catch {
      return undefined;
    }
  }
  return bootTimeMs + (Number(ticks) * 1000) / USER_HZ;
}

/**
 * The live process group of an agent whose pid never reached the ledger (the dispatcher died just
 * after starting it), found by the DISPATCHER_RUN_ID in its environment (Linux). Its leader when
 * still there, else any member.
 */
export function findRunGroup(runId: string): { pid: number; pgid: number; startTicks: string } | undefined {
  const pids = process.platform === 'linux' ? procPids() : undefined;
  if (!pids) return undefined;
  const marker = Buffer.from(`DISPATCHER_RUN_ID=${runId}\0`);
  let found: { pid: number; pgid: number; startTicks: string } | undefined;
  for (const name of pids) {
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    const at = environ.indexOf(marker);
    if (at < 0 || (at > 0 && environ[at - 1] !== 0)) continue;
    const stat = readProcStat(name);
    if (!stat || !isLive(stat, stat.pgrp)) continue;
    const pid = Number(name);
    if (pid === stat.pgrp) return { pid, pgid: stat.pgrp, startTicks: stat.startTicks };
    found ??= { pid, pgid: stat.pgrp, startTicks: stat.startTicks };
  }
  return found;
}

export interface WaitOptions {
  /** Poll interval ceiling in ms (default 50; polls start faster). */
  pollMs?: number;
  /** false: the waiting timers do not keep the event loop alive (default true). */
  ref?: boolean;
}

function delay(ms: number, ref: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!ref) timer.unref();
  });
}

/** Resolves true as soon as the group is gone, false if it is still alive after `withinMs`. */
export async function waitForGroupExit(pgid: number, withinMs: number, options: WaitOptions = {}): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  const ceiling = options.pollMs ?? 50;
  let interval = Math.min(5, ceiling);
  for (;;) {
    if (!isProcessGroupAlive(pgid)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await delay(Math.min(interval, left), options.ref ?? true);
    interval = Math.min(interval * 2, ceiling);
  }
}

export interface TerminateOptions extends WaitOptions {
  /** After SIGTERM, how long members get to exit before SIGKILL. */
  graceMs: number;
  /** After SIGKILL, how long to wait for the group to vanish before giving up (default 5000). */
  killWaitMs?: number;
}

export interface TerminationResult {
  /** SIGKILL was needed: some member outlived the grace period. */
  killed: boolean;
  /** The group is gone. false only if a member survived SIGKILL (stuck in the kernel). */
  gone: boolean;
}

/**
 * Stops a whole group: SIGTERM (and SIGCONT, so a stopped member can act on it), then SIGKILL to
 * whatever remains after `graceMs`. Resolves once the group is gone (or SIGKILL did not help).
 */
export async function terminateProcessGroup(pgid: number, options: TerminateOptions): Promise<TerminationResult> {
  if (!killProcessGroup(pgid, 'SIGTERM')) return { killed: false, gone: true };
  killProcessGroup(pgid, 'SIGCONT');
  if (await waitForGroupExit(pgid, options.graceMs, options)) return { killed: false, gone: true };
  killProcessGroup(pgid, 'SIGKILL');
  return { killed: true, gone: await waitForGroupExit(pgid, options.killWaitMs ?? 5000, options) };
}
