import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { redact } from '../../util/redact.ts';
import { forLog } from '../../util/printable.ts';
import { issueParts } from './task-file.ts';

/**
 * The reference's log lines, kept so that existing `tail -f | grep DISPATCHED` habits still work:
 * `[DISPATCHER] 2026/04/09 14:32:15.123456 ✅ DISPATCHED: hans → Issue #2 (title) [Priority: CRITICAL]`
 * (Go's log package with microseconds, local time). Each line goes to the console and is appended
 * to the log file; every line is redacted first, then made one printable line (escapes shown, very
 * long words cut, saying so).
 */
export const LOG_PREFIX = '[DISPATCHER] ';

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** Go's `log.LstdFlags | log.Lmicroseconds` time, local: `2026/04/09 14:32:15.123456`. */
export function formatGoLogTime(epochMs: number): string {
  const date = new Date(Math.floor(epochMs));
  // Rounded, not floored: an epoch in ms has float noise far below a microsecond.
  const micros = Math.min(999_999, Math.round((((epochMs % 1000) + 1000) % 1000) * 1000));
  return `${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(micros, 6)}`;
}

export function formatLogLine(epochMs: number, message: string): string {
  return `${LOG_PREFIX}${formatGoLogTime(epochMs)} ${forLog(redact(message).replace(/\r?\n/g, ' '))}`;
}

export interface DispatchLogOptions {
  /** Appended to; created with its folder when missing. */
  file?: string;
  /** Where lines are printed (stdout, or stderr when stdout carries JSON). */
  console?: NodeJS.WritableStream;
  now: () => number;
  /** Also given every line (the state store's log tail). */
  onLine?: (line: string) => void;
  /** Told when the log file cannot be written (once per failure streak). */
  onFileError?: (error: Error) => void;
}

export interface DispatchLog {
  line(message: string): string;
  /** Waits for the log file to have every line. */
  flush(): Promise<void>;
}

export function createDispatchLog(options: DispatchLogOptions): DispatchLog {
  let pending: Promise<void> = Promise.resolve();
  let failing = false;
  let folderReady = false;
  return {
    line(message) {
      const line = formatLogLine(options.now(), message);
      options.console?.write(`${line}\n`);
      options.onLine?.(line);
      const file = options.file;
      if (file) {
        // Appended one by one, reopening the file each time so that logrotate's move is harmless.
        pending = pending.then(async () => {
          try {
            if (!folderReady) await mkdir(dirname(file), { recursive: true });
            folderReady = true;
            await appendFile(file, `${line}\n`);
            failing = false;
          } catch (error) {
            if (!failing) options.onFileError?.(error as Error);
            failing = true;
          }
        });
      }
      return line;
    },
    flush: () => pending,
  };
}

/** The reference's words for each kind of line. */
export const icons = {
  dispatched: '✅ DISPATCHED:',
  skipped: '⏭️  SKIPPED:',
  waiting: '⏳ RATE LIMIT:',
  poll: '🔍 POLL:',
  error: '❌ ERROR:',
  warning: '⚠️  WARNING:',
  recovered: '🔄 RECOVERED:',
  dryRun: '📝 DRY RUN:',
  start: '🚀 STARTED:',
  stop: '🛑 STOPPED:',
} as const;

/** `Issue #2` with one repository, `Issue owner/repo#2` with several. */
export function describeIssue(taskId: string, multiRepo: boolean): string {
  const { repository, number } = issueParts({ id: taskId, queue: '' });
  if (!/^\d+$/.test(number)) return `Task ${taskId}`;
  return multiRepo ? `Issue ${repository}#${number}` : `Issue #${number}`;
}
