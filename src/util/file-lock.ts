import { closeSync, fstatSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { linkLock, lockHost as host } from './lock-owner.ts';

/**
 * An inter-process lock beside a file: `<path>.lock`, holding the owner's pid and host. It is taken
 * by hard-linking a file of ours to that name (src/util/lock-owner.ts), or, where the file system
 * has no hard links, by creating it exclusively (O_EXCL): either fails while another holds it. A
 * lock whose owner died (kill -9 mid-update) is broken, under a second exclusive "breaker" file so
 * that two waiters never both break it and one of them steals a fresh lock.
 */
export interface LockOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
}

const knownFolders = new Set<string>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LockTimeoutError extends Error {
  readonly code = 'E_LOCK_TIMEOUT';
  constructor(readonly lockPath: string) {
    super(`could not lock ${lockPath}: another process holds it (remove the file if no dispatcher is running)`);
    this.name = 'LockTimeoutError';
  }
}

/** In-process queue per lock, so this process's own waiters line up instead of polling the file. */
const localQueues = new Map<string, Promise<unknown>>();

export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const previous = localQueues.get(lockPath) ?? Promise.resolve();
  const mine = previous.catch(() => {}).then(async () => {
    const release = await acquireLock(lockPath, options.timeoutMs ?? 15_000);
    try {
      return await work();
    } finally {
      await release();
    }
  });
  localQueues.set(lockPath, mine);
  try {
    return await mine;
  } finally {
    if (localQueues.get(lockPath) === mine) localQueues.delete(lockPath);
  }
}

async function acquireLock(lockPath: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  const folder = dirname(lockPath);
  if (!knownFolders.has(folder)) {
    await mkdir(folder, { recursive: true });
    knownFolders.add(folder);
  }
  const token = `${process.pid}\n${host}\n${Date.now()}-${Math.random()}\n`;
  for (let attempt = 0; ; attempt++) {
    // The uncontended path is a few tiny system calls: done synchronously, it costs microseconds
    // instead of trips through the thread pool.
    const linked = linkLock(lockPath, (pid) => !isProcessAlive(pid));
    if (linked) return async () => linked();
    if (linked === null) {
      const created = createLock(lockPath, token);
      if (created) return created;
    }
    await breakIfStale(lockPath);
    if (Date.now() > deadline) throw new LockTimeoutError(lockPath);
    await sleep(Math.min(2 + attempt * 2, 25) * (0.5 + Math.random()));
  }
}

/** Takes the lock by creating it exclusively; undefined while another holds it. */
function createLock(lockPath: string, token: string): (() => Promise<void>) | undefined {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  try {
    writeSync(fd, token);
  } catch (error) {
    closeSync(fd);
    unlinkSync(lockPath);
    throw error;
  }
  // Held open until release: the lock file is still ours if it is still this inode.
  const { ino } = fstatSync(fd);
  return async () => {
    try {
      if (statSync(lockPath).ino === ino) unlinkSync(lockPath);
    } catch {
      // Already gone: someone judged it stale.
    } finally {
      closeSync(fd);
    }
  };
}

async function breakIfStale(lockPath: string): Promise<void> {
  const content = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const age = Date.now() - ((await stat(lockPath).catch(() => undefined))?.mtimeMs ?? Date.now());
  if (!isStale(content, age)) return;
  const breaker = `${lockPath}.break`;
  let handle;
  try {
    handle = await open(breaker, 'wx');
  } catch {
    // Someone else is breaking it; a breaker left by a dead breaker is cleared after 10 s.
    const info = await stat(breaker).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 10_000) await unlink(breaker).catch(() => {});
    return;
  }
  try {
    const again = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (again === content) await unlink(lockPath).catch(() => {});
  } finally {
    await handle.close();
    await unlink(breaker).catch(() => {});
  }
}

function isStale(content: string, ageMs: number): boolean {
  const [pidText, owner] = content.split('\n');
  const pid = Number(pidText);
  // Empty or garbled: its owner died between creating and writing it, or is writing it right now.
  if (!Number.isInteger(pid) || pid <= 0) return ageMs > 5_000;
  if (owner && owner !== host) return false;
  return !isProcessAlive(pid);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
