import type { ConsolaInstance, createConsola } from 'consola';
import type { Writable } from 'node:stream';
import { format as formatArgs } from 'node:util';
import type { Logger } from '../adapters/types.ts';
import { redact } from './util/redact.ts';
import { forLog } from './util/printable.ts';

export type LogFormat = 'auto' | 'json' | 'plain';
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  time: string;
  level: LogLevelName;
  tag?: string;
  message: string;
}

export interface AppLogger extends Logger {
  withTag(tag: string): AppLogger;
  /**
   * Every record at `minLevel` or above (default: all), after redaction — the dashboard's log tail,
   * log files. Returns an unsubscribe. Records no one wants (below the output level and every
   * subscriber's) are never built: an agent's output lines at debug level cost nothing by default.
   */
  subscribe(listener: (record: LogRecord) => void, minLevel?: LogLevelName): () => void;
}

const levels: Record<LogLevelName, number> = { error: 0, warn: 1, info: 3, debug: 4 };

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevelName;
  /** Where records go; stderr by default so that stdout stays for command output. */
  stream?: NodeJS.WritableStream;
  /** consola's factory, for pretty output on a terminal (see {@link loadPrettyPrinter}); plain without it. */
  pretty?: typeof createConsola;
}

/** consola, loaded only when output goes to a terminal: scripts and pipes never pay for it. */
export async function loadPrettyPrinter(stream: NodeJS.WritableStream = process.stderr): Promise<typeof createConsola | undefined> {
  return (stream as NodeJS.WriteStream).isTTY ? (await import('consola')).createConsola : undefined;
}

/**
 * The one logger. Every line passes through redact() first, so no registered secret and no
 * credential-looking header ever reaches a terminal, a file or the dashboard; then through
 * forLog(), so a task title's terminal escapes are shown, not played, and a 10,000-character id is
 * cut, saying so.
 */
export function createLogger(options: LoggerOptions = {}): AppLogger {
  const stream = options.stream ?? process.stderr;
  const level = levels[options.level ?? 'info'];
  const format = options.format === 'auto' || options.format === undefined ? ((stream as NodeJS.WriteStream).isTTY && options.pretty ? 'fancy' : 'plain') : options.format;
  /** Each subscriber, and the most verbose level it wants. */
  const listeners = new Map<(record: LogRecord) => void, number>();
  let subscribersWant = -1;
  const write = stream === process.stderr ? batchedWrites(process.stderr) : (text: string) => void stream.write(text);
  let consola: ConsolaInstance | undefined;

  function emit(levelName: LogLevelName, tag: string | undefined, message: string, args: unknown[]): void {
    const rank = levels[levelName];
    if (rank > level && rank > subscribersWant) return;
    const text = forLog(redact(args.length > 0 ? formatArgs(message, ...args) : message));
    const record: LogRecord = { time: new Date().toISOString(), level: levelName, tag, message: text };
    for (const [listener, wants] of listeners) if (rank <= wants) listener(record);
    if (rank > level) return;
    if (format === 'json') {
      write(`${JSON.stringify(record)}\n`);
    } else if (format === 'plain') {
      write(`${plainLine(record)}\n`);
    } else {
      consola ??= options.pretty!({ level: 5, stdout: stream as NodeJS.WriteStream, stderr: stream as NodeJS.WriteStream, formatOptions: { date: true } });
      (tag ? consola.withTag(tag) : consola)[levelName](text);
    }
  }

  function make(tag?: string): AppLogger {
    return {
      debug: (message, ...args) => emit('debug', tag, message, args),
      info: (message, ...args) => emit('info', tag, message, args),
      warn: (message, ...args) => emit('warn', tag, message, args),
      error: (message, ...args) => emit('error', tag, message, args),
      withTag: (child) => make(tag ? `${tag}:${child}` : child),
      subscribe(listener, minLevel = 'debug') {
        listeners.set(listener, levels[minLevel]);
        subscribersWant = Math.max(subscribersWant, levels[minLevel]);
        return () => {
          listeners.delete(listener);
          subscribersWant = Math.max(-1, ...listeners.values());
        };
      },
    };
  }
  return make();
}

/** A record as a plain log line (the console without a terminal, log_file). */
export function plainLine(record: LogRecord): string {
  return `${record.time} ${record.level.toUpperCase().padEnd(5)} ${record.tag ? `[${record.tag}] ` : ''}${record.message}`;
}

/** Streams with lines held back until the end of this turn of the event loop (or of the process). */
const corked = new Set<Writable>();
process.on('exit', () => {
  for (const stream of corked) stream.uncork();
});

/**
 * Lines logged in one turn of the event loop reach stderr in one write: a busy daemon logs a
 * dispatch and an exit per run, and a system call per line cost more than formatting it. They are
 * held for microseconds, and written at exit too.
 */
function batchedWrites(stream: Writable): (text: string) => void {
  const flush = () => {
    if (corked.delete(stream)) stream.uncork();
  };
  return (text) => {
    if (!corked.has(stream)) {
      corked.add(stream);
      stream.cork();
      process.nextTick(flush);
    }
    stream.write(text);
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: AppLogger = createLogger({ level: 'error', stream: { write: () => true } as unknown as NodeJS.WritableStream });
