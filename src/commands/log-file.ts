import { appendFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { plainLine, type AppLogger, type LogLevelName, type LogRecord } from '../log.ts';
import type { GlobalOptions } from './context.ts';

/** The lines of the top-level `log_file` that `run` and `poll-once` write. */
export interface LogFile {
  /** Waits until every line logged so far is in the file, then stops following the log. */
  close(): Promise<void>;
}

/** The level the console shows (`-q`, `-v`): the file holds the same lines. */
export function levelOf(options: GlobalOptions): LogLevelName {
  return options.quiet ? 'error' : options.verbose ? 'debug' : 'info';
}

/**
 * Appends every log record at `level` or above to `file`, as the console's plain line (JSON with
 * `--log-format json`), redacted and escaped as the logger made it. Lines are appended in batches,
 * the file reopened each time so that logrotate's move is harmless; a line still waiting when the
 * process exits (a forced stop) is written then. A file that cannot be written is said once per
 * failure streak, on the console only; its lines are dropped, never held without bound.
 */
export function appendLogToFile(log: AppLogger, options: { file: string; level: LogLevelName; json: boolean }): LogFile {
  const format = (record: LogRecord) => (options.json ? JSON.stringify(record) : plainLine(record));
  let pending: string[] = [];
  let writing: Promise<void> | undefined;
  let failing = false;
  let folderReady = false;

  const drain = async () => {
    while (pending.length > 0) {
      const batch = pending.join('');
      pending = [];
      try {
        if (!folderReady) await mkdir(dirname(options.file), { recursive: true });
        folderReady = true;
        await appendFile(options.file, batch);
        failing = false;
      } catch (error) {
        if (!failing) {
          failing = true;
          // Logged while `failing` is set: the warning is not queued for the file it is about.
          log.warn(`cannot append to log_file ${options.file}: ${(error as Error).message}`);
        }
      }
    }
  };
  const writeSoon = (): Promise<void> => {
    writing ??= drain().finally(() => {
      writing = undefined;
    });
    return writing;
  };

  const unsubscribe = log.subscribe((record) => {
    if (failing && record.message.startsWith('cannot append to log_file')) return;
    pending.push(`${format(record)}\n`);
    void writeSoon();
  }, options.level);

  const onExit = () => {
    if (pending.length === 0) return;
    try {
      appendFileSync(options.file, pending.join(''));
    } catch {
      // Leaving anyway; the console had the lines.
    }
  };
  process.on('exit', onExit);

  return {
    async close() {
      unsubscribe();
      while (writing || pending.length > 0) await (writing ?? writeSoon());
      process.off('exit', onExit);
    },
  };
}

/** `log_file` of the config, when set: followed until `close()`. */
export function openLogFile(log: AppLogger, file: string | undefined, options: GlobalOptions): LogFile | undefined {
  return file ? appendLogToFile(log, { file, level: levelOf(options), json: options.logFormat === 'json' }) : undefined;
}
