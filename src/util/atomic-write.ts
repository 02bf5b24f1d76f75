import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { closeFd, fsyncFd, openFd, renameFile, unlinkFile, writeAll } from './fd-calls.ts';
import { inFolder } from './missing-folder.ts';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a whole file so that readers see the old content or the new, never a torn mix:
 * temp file in the same folder, fsync, rename over the target. A crash of the process at any
 * moment leaves the old file or the new one. (The folder is not fsynced: after a power loss the
 * rename itself may be undone, which leaves the old, whole file — and it halves the cost.)
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = await inFolder(folder, () => openFd(temp, 'w', mode));
  try {
    await writeAll(fd, data);
    await fsyncFd(fd);
  } catch (error) {
    await closeFd(fd);
    await unlinkFile(temp).catch(() => {});
    throw error;
  }
  await closeFd(fd);
  try {
    await renameFile(temp, path);
  } catch (error) {
    await unlinkFile(temp).catch(() => {});
    throw error;
  }
}

/** The same, synchronously: for a write that must happen inside a synchronous step (history rotation). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'w', mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(folder)) {
      mkdirSync(folder, { recursive: true });
      return writeFileAtomicSync(path, data, mode);
    }
    throw error;
  }
}
