import { existsSync, linkSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * Taking a lock by hard-linking a file of ours to the lock's name, instead of creating the lock
 * file each time: `link` fails when the name exists just as an exclusive create does, but creates
 * and frees no inode. On a disk that avoids reusing recently freed inodes (ext4 without a journal),
 * every file created after a burst of create-and-delete got slower; this spares one such pair per
 * write. The owner file (`.<lock>.<pid>.owner`, holding our pid and host as a lock file does) is
 * made on the first lock and removed when the process exits; one left by a killed process is
 * removed by the next process that locks there.
 */
export interface LockOwner {
  path: string;
  ino: number;
}

export const lockHost = hostname();
/** By lock path; null where the file system has no hard links (the lock is then created each time). */
const owners = new Map<string, LockOwner | null>();

process.on('exit', () => {
  for (const owner of owners.values()) {
    if (!owner) continue;
    try {
      unlinkSync(owner.path);
    } catch {
      // already gone
    }
  }
});

/** Tries to take the lock by linking our owner file to it; undefined when it is held, null when links are unsupported. */
export function linkLock(lockPath: string, isDead: (pid: number) => boolean): (() => void) | undefined | null {
  const owner = ownerOf(lockPath, isDead);
  if (!owner) return null;
  try {
    linkSync(owner.path, lockPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return undefined;
    if (code === 'ENOENT' && !existsSync(owner.path)) {
      // Someone tidied our owner file away: make it again.
      owners.delete(lockPath);
      return linkLock(lockPath, isDead);
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EMLINK') {
      owners.set(lockPath, null);
      return null;
    }
    throw error;
  }
  return () => {
    try {
      // Still ours unless someone judged it stale and another process took it since.
      if (statSync(lockPath).ino === owner.ino) unlinkSync(lockPath);
    } catch {
      // Already gone: someone judged it stale.
    }
  };
}

function ownerOf(lockPath: string, isDead: (pid: number) => boolean): LockOwner | null {
  const known = owners.get(lockPath);
  if (known !== undefined) return known;
  removeDeadOwners(lockPath, isDead);
  const path = join(dirname(lockPath), `.${basename(lockPath)}.${process.pid}.owner`);
  writeFileSync(path, `${process.pid}\n${lockHost}\n${randomUUID()}\n`);
  const owner = { path, ino: statSync(path).ino };
  owners.set(lockPath, owner);
  return owner;
}

function removeDeadOwners(lockPath: string, isDead: (pid: number) => boolean): void {
  const prefix = `.${basename(lockPath)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(lockPath));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.owner')) continue;
    const file = join(dirname(lockPath), name);
    try {
      const [pid, host] = readFileSync(file, 'utf8').split('\n');
      if (host === lockHost && Number(pid) !== process.pid && isDead(Number(pid))) unlinkSync(file);
    } catch {
      // gone meanwhile, or not ours to judge
    }
  }
}
