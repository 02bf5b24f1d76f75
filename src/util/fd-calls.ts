import { close, fsync, open, rename, unlink, write } from 'node:fs';
import { promisify } from 'node:util';

/**
 * File-descriptor calls on the thread pool through the callback API: a FileHandle of
 * `fs/promises` costs several times as much main-thread time per call, which a daemon writing
 * its ledger, its board and a log file per run pays thousands of times over.
 */
export const openFd = promisify(open);
export const closeFd = promisify(close);
export const fsyncFd = promisify(fsync);
export const renameFile = promisify(rename);
export const unlinkFile = promisify(unlink);
const writeFd = promisify(write);

/** Writes all of `data` at the file's current position. */
export async function writeAll(fd: number, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let offset = 0;
  while (offset < bytes.length) offset += (await writeFd(fd, bytes, offset, bytes.length - offset)).bytesWritten;
}
