import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { killProcessGroup, type SpawnRequest } from '../../src/core/process/spawner.ts';

/** Helpers shared by the spawner tests. */

export const repoRoot = join(import.meta.dirname, '../..');
export const agentsDir = join(repoRoot, 'fixtures/agents');
export const fixture = (name: string) => join(agentsDir, name);

/** A temp folder removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spawner-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const groups = new Set<number>();
after(() => {
  // A failed test must not leave agents running on the machine.
  for (const pgid of groups) killProcessGroup(pgid, 'SIGKILL');
});

/** Remembers a group to SIGKILL after the tests, whatever happens. */
export function track<T extends { pgid: number | undefined }>(run: T): T {
  if (run.pgid !== undefined) groups.add(run.pgid);
  return run;
}

/** A request running node with `args` and a minimal environment. */
export function nodeRequest(dir: string, args: string[], extra: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    command: process.execPath,
    args,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: dir,
    logFile: join(dir, 'logs', 'agent.log'),
    killGraceMs: 1000,
    ...extra,
  };
}

/** A request running `node <fixture agent> ...args`. */
export const nodeAgent = (dir: string, script: string, args: string[], extra: Partial<SpawnRequest> = {}) =>
  nodeRequest(dir, [fixture(script), ...args], extra);

/** A request running `node -e <code>`. */
export const nodeEval = (dir: string, code: string, extra: Partial<SpawnRequest> = {}) => nodeRequest(dir, ['-e', code], extra);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The pids a grandchild-spawner fixture recorded, once all three are there. */
export function waitForPids(pidfile: string): Promise<number[]> {
  return waitFor('three pids in the pidfile', () => {
    let pids: number[] = [];
    try {
      pids = readFileSync(pidfile, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {}
    return pids.length >= 3 ? pids : undefined;
  });
}

/** true while the process runs (a zombie is not running). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    if (process.platform === 'linux') return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
