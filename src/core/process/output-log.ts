import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { openFd } from '../../util/fd-calls.ts';
import { dirname } from 'node:path';
import { inFolder } from '../../util/missing-folder.ts';

/** Helpers for an agent's log file: opening it for a run, the in-memory tail, reading a tail back. */

/** Default cap on what one run writes to its log file. */
export const DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024;
/** How much of the most recent output is kept in memory for the outcome. */
export const TAIL_BYTES = 4096;

/** The last {@link TAIL_BYTES} of `tail` followed by `chunk`. */
export function appendToTail(tail: Buffer, chunk: Buffer): Buffer {
  if (chunk.length >= TAIL_BYTES) return Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES));
  const keep = Math.min(tail.length, TAIL_BYTES - chunk.length);
  return Buffer.concat([tail.subarray(tail.length - keep), chunk]);
}

/** Decodes the tail, skipping a UTF-8 character cut in half at its start. */
export function decodeTail(bytes: Buffer): string {
  let start = 0;
  while (start < bytes.length && start < 3 && (bytes[start] & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

/** A run's log, open for reading and appending, and where the run's output starts in it. */
export interface OpenedLog {
  fd: number;
  outputStart: number;
}

/** Opens a log file for appending and writes `header` first. */
export function openLogForAppend(path: string, header?: string): OpenedLog {
  // Read and append: the agent gets a copy to write to, and we read what it wrote through the same fd.
  return startLog(openSync(path, 'a+', 0o644), header);
}

/**
 * The same, opening on the thread pool (and creating the log's folder if need be): done while the
 * task is claimed. Creating a file can take a millisecond; writing the header takes microseconds.
 */
export async function openRunLog(path: string, header?: string): Promise<OpenedLog> {
  return startLog(await inFolder(dirname(path), () => openFd(path, 'a+', 0o644)), header);
}

function startLog(fd: number, header: string | undefined): OpenedLog {
  try {
    if (header) writeFileSync(fd, header.endsWith('\n') ? header : `${header}\n`);
    return { fd, outputStart: fstatSync(fd).size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The last {@link TAIL_BYTES} a detached agent wrote to its log after `from`. */
export function readLogTail(path: string, from: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - TAIL_BYTES);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    const read = readSync(fd, buffer, 0, buffer.length, start);
    return decodeTail(buffer.subarray(0, read));
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The first `bytes` of a log (its header lines), or undefined when it cannot be read. */
export function readLogHead(path: string, bytes = 8192): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, bytes, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
