import type { LogRecord } from '../../log.ts';
import type { LogLine } from './types.ts';

export const LOG_TAIL_LINES = 1_000;
const MAX_LINE_CHARS = 4_000;

/** The latest log lines of this process, for the dashboard's live tail. */
export interface LogTail {
  /** Oldest first. */
  lines(): LogLine[];
  push(line: Omit<LogLine, 'seq'>): void;
  /** Called with each line as it is added. Returns an unsubscribe function. */
  subscribe(listener: (line: LogLine) => void): () => void;
  /** Stops taking lines from the sources it was attached to. */
  detach(): void;
}

/**
 * A bounded ring of log lines. Lines arrive already redacted (the logger redacts before anyone
 * sees a record); very long ones are cut so one agent's dump cannot fill the page.
 */
export function createLogTail(options: { limit?: number } = {}): LogTail & { attach(source: { subscribe(listener: (record: LogRecord) => void, minLevel: LogLine['level']): () => void }, minLevel?: LogLine['level']): void } {
  const limit = options.limit ?? LOG_TAIL_LINES;
  const ring: LogLine[] = new Array(limit);
  let next = 0;
  let count = 0;
  let seq = 0;
  const listeners = new Set<(line: LogLine) => void>();
  const detachers: Array<() => void> = [];

  function push(line: Omit<LogLine, 'seq'>): void {
    const message = line.message.length > MAX_LINE_CHARS ? `${line.message.slice(0, MAX_LINE_CHARS)}… (${line.message.length - MAX_LINE_CHARS} more characters)` : line.message;
    const entry: LogLine = { seq: ++seq, time: line.time, level: line.level, ...(line.tag ? { tag: line.tag } : {}), message };
    ring[next] = entry;
    next = (next + 1) % limit;
    count = Math.min(count + 1, limit);
    for (const listener of listeners) listener(entry);
  }

  return {
    lines() {
      const start = (next - count + limit) % limit;
      return Array.from({ length: count }, (_, index) => ring[(start + index) % limit]);
    },
    push,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    attach(source, minLevel = 'info') {
      // The logger hands over only records at minLevel or above.
      detachers.push(source.subscribe((record) => push({ time: record.time, level: record.level, tag: record.tag, message: record.message }), minLevel));
    },
    detach() {
      for (const stop of detachers.splice(0)) stop();
    },
  };
}
