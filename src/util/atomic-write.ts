import { close, closeSync, constants, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { fsyncFd } from './fd-calls.ts';
import { inFolder } from './missing-folder.ts';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a whole file so that readers see the old content or the new, never a torn mix:
 * temp file in the same folder, fsync, rename over the target. A crash of the process at any
 * moment leaves the old file or the new one. (The folder is not fsynced: after a power loss the
 * rename itself may be undone, which leaves the old, whole file — and it halves the cost.)
 * `mode` is for a new file; a file replaced keeps its permissions (a board shared by a group stays
 * writable by the group).
 *
 * Only the fsync, which waits for the disk, goes to the thread pool. Opening, writing a few
 * kilobytes to the page cache, closing and renaming take microseconds each, less than a trip
 * through the pool and back; the daemon writes its ledger and board between one batch of agents
 * and the next, so every trip was time with no agent running.
 *
 * Renaming over a file frees the old one's blocks, and on a disk mounted with `discard` the
 * kernel may discard them inside the rename (0.5–1 ms a write on ext4 without a journal). So the
 * old file is held open across the rename, and its last close, which frees it, goes to the pool.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const kept = permissionsOf(path);
  const fd = await inFolder(folder, async () => openSync(temp, 'w', mode));
  try {
    if (kept !== undefined) fchmodSync(fd, kept);
    writeFileSync(fd, data);
    await fsyncFd(fd);
  } catch (error) {
    closeSync(fd);
    removeQuietly(temp);
    throw error;
  }
  closeSync(fd);
  const replaced = openToHold(path);
  try {
    renameSync(temp, path);
  } catch (error) {
    removeQuietly(temp);
    throw error;
  } finally {
    if (replaced !== undefined) close(replaced, () => {});
  }
}

/** The permission bits of the file about to be replaced (not the umask's idea of them); undefined when there is none. */
function permissionsOf(path: string): number | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    return info === undefined ? undefined : info.mode & 0o777;
  } catch {
    return undefined; // the open that follows says what is wrong with the path
  }
}

/** The file about to be replaced, opened only to keep it: undefined when it is not there or not readable. */
function openToHold(path: string): number | undefined {
  try {
    // O_NONBLOCK: a FIFO at the path must not block the opening
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

/** The same, synchronously: for a write that must happen inside a synchronous step (history rotation). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  let replaced: number | undefined;
  try {
    const kept = permissionsOf(path);
    fd = openSync(temp, 'w', mode);
    if (kept !== undefined) fchmodSync(fd, kept);
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    replaced = openToHold(path);
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    removeQuietly(temp);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(folder)) {
      mkdirSync(folder, { recursive: true });
      return writeFileAtomicSync(path, data, mode);
    }
    throw error;
  } finally {
    if (replaced !== undefined) close(replaced, () => {});
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // never created, or already gone
  }
}
