import { fsync, open, stat } from 'node:fs';
import { promisify } from 'node:util';

/**
 * File calls on the thread pool through the callback API: a FileHandle of
 * `fs/promises` costs several times as much main-thread time per call, which a daemon writing
 * its ledger, its board and a log file per run pays thousands of times over.
 */
export const openFd = promisify(open);
export const fsyncFd = promisify(fsync);
export const statPath = promisify(stat);
