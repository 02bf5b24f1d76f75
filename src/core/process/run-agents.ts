import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken } from '../runs/run-token.ts';
import { isLive, procPids, readProcStat } from './process-group.ts';

/**
 * The live agents of one state_dir, found without the ledger: every agent carries its run's
 * DISPATCHER_* variables in its environment (/proc/<pid>/environ, readable for our own user's
 * processes), and its group's leader, the waiter, writes to `<state_dir>/runs/<run>.log`. Used by
 * `dispatcher ledger rebuild` (Linux).
 */
export interface RunAgent {
  runId: string;
  /** The group's leader (the agent's waiter) when it is still there, else a member. */
  pid: number;
  pgid: number;
  startTicks: string;
  /** The run's DISPATCHER_* variables, without DISPATCHER_TOKEN. */
  vars: Record<string, string>;
  /** sha256 of the run's DISPATCHER_TOKEN, when it has one: the token itself never leaves here. */
  tokenHash?: string;
  /** Other process groups carrying the same run id (something the agent started with setsid). */
  otherGroups: number[];
}

export interface RunAgentScan {
  agents: RunAgent[];
  /** false where there is no /proc to look into: nothing could be found. */
  scanned: boolean;
}

const MARKER = Buffer.from('DISPATCHER_RUN_ID=');
/** A run id as the dispatcher makes them: safe as a file name. */
const RUN_ID = /^[\w-][\w.-]*$/;

interface Member {
  pid: number;
  pgid: number;
  startTicks: string;
  vars: Record<string, string>;
  token?: string;
}

export function findRunAgents(stateDir: string): RunAgentScan {
  const pids = process.platform === 'linux' ? procPids() : undefined;
  if (!pids) return { agents: [], scanned: false };
  const belongs = belongsTo(stateDir);
  const byRun = new Map<string, Member[]>();
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    const member = readMember(pid);
    if (!member) continue;
    const runId = member.vars.DISPATCHER_RUN_ID;
    if (!RUN_ID.test(runId) || !belongs(pid, runId, member.vars)) continue;
    byRun.set(runId, [...(byRun.get(runId) ?? []), member]);
  }
  const agents = [...byRun].map(([runId, members]): RunAgent => {
    const chosen = chooseLeader(members);
    const group = members.filter((member) => member.pgid === chosen.pgid);
    const token = group.find((member) => member.pid === chosen.pid)?.token ?? group.find((member) => member.token)?.token;
    return {
      runId,
      pid: chosen.pid,
      pgid: chosen.pgid,
      startTicks: chosen.startTicks,
      vars: chosen.vars,
      ...(token ? { tokenHash: hashToken(token) } : {}),
      otherGroups: [...new Set(members.map((member) => member.pgid))].filter((pgid) => pgid !== chosen.pgid),
    };
  });
  return { agents, scanned: true };
}

/**
 * The run's waiter: of the group leaders, the one started first (pids wrap around, so a setsid
 * child of the agent may have the lower pid); without a leader left, the oldest member.
 */
export function chooseLeader<M extends Pick<Member, 'pid' | 'pgid' | 'startTicks'>>(members: M[]): M {
  const byStart = [...members].sort((a, b) => Number(a.startTicks) - Number(b.startTicks) || a.pid - b.pid);
  return byStart.find((member) => member.pid === member.pgid) ?? byStart[0];
}

/** A live process (not a zombie) with a run id in its environment, and its DISPATCHER_* variables. */
function readMember(pid: number): Member | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined; // gone, or another user's
  }
  if (environ.indexOf(MARKER) < 0) return undefined;
  const stat = readProcStat(pid);
  if (!stat || !isLive(stat, stat.pgrp)) return undefined;
  const vars: Record<string, string> = {};
  let token: string | undefined;
  for (const entry of environ.toString('utf8').split('\0')) {
    if (!entry.startsWith('DISPATCHER_')) continue;
    const at = entry.indexOf('=');
    const [key, value] = [entry.slice(0, at), entry.slice(at + 1)];
    if (key === 'DISPATCHER_TOKEN') token = value;
    else vars[key] = value;
  }
  if (vars.DISPATCHER_RUN_ID === undefined) return undefined;
  return { pid, pgid: stat.pgrp, startTicks: stat.startTicks, vars, token };
}

/**
 * Whether an agent is this state_dir's: its output goes to `<state_dir>/runs/<run>.log` (the
 * waiter's and the agent's stdout and stderr), or its DISPATCHER_BIN is `<state_dir>/bin/dispatcher`
 * (an agent that sends its output elsewhere, or whose log was removed).
 */
function belongsTo(stateDir: string): (pid: number, runId: string, vars: Record<string, string>) => boolean {
  const real = realOrSame(stateDir);
  const launcher = join(real, 'bin', 'dispatcher');
  return (pid, runId, vars) => {
    const log = join(real, 'runs', `${runId}.log`);
    for (const fd of [1, 2]) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === log) return true;
      } catch {
        // closed, or gone
      }
    }
    return vars.DISPATCHER_BIN !== undefined && realOrSame(vars.DISPATCHER_BIN) === launcher;
  };
}

function realOrSame(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
