import type { TrackerFailure } from '../errors.ts';
import { checkStateDir } from '../config/state-dir.ts';
import { verifyTracker } from './verify-tracker.ts';
import { join } from 'node:path';
import { createTracker } from '../../adapters/registry.ts';
import type { TrackerAdapter, TrackerContext } from '../../adapters/types.ts';
import type { Config } from '../config/types.ts';
import { runDispatchCycle } from '../core/dispatch-file/cycle.ts';
import type { PlannedFile } from '../core/dispatch-file/select.ts';
import { createDispatchLog, icons } from '../core/dispatch-file/log-lines.ts';
import { runDispatchLoop, formatDuration, type LoopOptions } from '../core/dispatch-file/loop.ts';
import { createDispatchState, type DispatchStateStore } from '../core/dispatch-file/state.ts';
import { openDispatchFileShared, type DispatchFileShared } from '../core/dispatch-file/shared-state.ts';
import { databaseUrlOf } from '../core/dispatch-file/postgres-pool.ts';
import { createStaleNotes, type StaleTaskFile } from '../core/dispatch-file/stale.ts';
import { ConfigError, DatabaseError } from '../errors.ts';
import type { AppLogger } from '../log.ts';
import { forLog } from '../util/printable.ts';

/** `dispatcher dispatch-file`: open assigned issues → one markdown task file per assignee. */
export interface DispatchFileOptions {
  config: Config;
  log: AppLogger;
  /** One cycle, then return (cron). */
  once: boolean;
  /** Print what would be written; write nothing (no files, no rate-limit state, no log file). One cycle. */
  dryRun: boolean;
  /** Aborting stops the loop after the current cycle. */
  signal: AbortSignal;
  /** stdout carries JSON: the log lines go to stderr instead. */
  json?: boolean;
  /** Seams for tests and embedding. */
  tracker?: TrackerAdapter;
  state?: DispatchStateStore;
  now?: () => number;
  sleep?: LoopOptions['sleep'];
  backoff?: LoopOptions['backoff'];
  /** Webhook deliveries ask for a cycle now through these. */
  requests?: LoopOptions['requests'];
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export interface DispatchFileSummary {
  /** Task files written over the whole run. */
  dispatched: number;
  /** Last cycle: tasks already dispatched, without assignee, or with an unusable assignee name. */
  skipped: number;
  /** Last cycle: task files held back by the rate limit. */
  waiting: number;
  /** Over the whole run. */
  errors: number;
  /** Last cycle: nothing could be read, and what kind of tracker failure that was. */
  trackerDown?: TrackerFailure | { kind: 'unknown' };
  /** Last cycle: the [coordination] database failed (unreachable, credentials refused, a statement refused); nothing was written. */
  databaseDown?: DatabaseError['kind'];
  cycles: number;
  /** Last cycle: the files written, or that would be written in a dry run. */
  files: PlannedFile[];
  /** Last cycle: task files whose issue was closed or reassigned after they were written. */
  staleFiles: StaleTaskFile[];
}

export { RATE_STATE_FILE } from '../core/dispatch-file/shared-state.ts';
/** What is known of stale task files (this host's), so that each change is reported once (cron included). */
export const STALE_NOTES_FILE = 'dispatch-file-stale.json';

const wallClock = () => performance.timeOrigin + performance.now();

export async function dispatchFile(options: DispatchFileOptions): Promise<DispatchFileSummary> {
  const { config, log } = options;
  const settings = config.dispatchFile;
  if (!settings) {
    throw new ConfigError(`${config.file ?? 'config'}: dispatch_file: add a [dispatch_file] table (repos or owner, tasks_dir) to use dispatch-file`);
  }
  checkStateDir(config);
  const now = options.now ?? wallClock;
  const tracker =
    options.tracker ??
    (await createTracker({ options: settings.backend as TrackerContext['options'], baseDir: config.baseDir, env: config.env, log: log.withTag('tracker') }));
  let shared: DispatchFileShared | undefined;
  try {
    await verifyTracker(tracker, log, options.once || options.dryRun ? 'fail' : 'warn');
    if (settings.owner && typeof tracker.listQueues !== 'function') {
      throw new ConfigError(`dispatch_file.owner: the ${settings.backend.type} backend cannot list repositories; name them in dispatch_file.repos`);
    }
    const once = options.once || options.dryRun;
    // Daemon or not, a missing database URL stops here: there is nothing to wait for.
    if (config.coordination) databaseUrlOf(config.coordination, config.file);
    const state =
      options.state ??
      createDispatchState({ mode: options.dryRun ? 'dry-run' : once ? 'once' : 'loop', repos: settings.repos, tasksDir: settings.tasksDir, intervalMs: settings.intervalMs });
    const consoleStream = options.json ? (options.stderr ?? process.stderr) : (options.stdout ?? process.stdout);
    const dispatchLog = createDispatchLog({
      file: options.dryRun ? undefined : settings.logFile,
      console: consoleStream,
      now,
      onLine: (line) => state.appendLog(line),
      onFileError: (error) => log.warn(`cannot append to ${settings.logFile}: ${error.message}`),
    });
    // Without [coordination] files; with it PostgreSQL, opened once it answers: a cron run (or a dry
    // run) that cannot reach it stops here, the daemon tries again each poll.
    const openShared = async () => (shared ??= await openDispatchFileShared(config, settings, { now, onCorrupt: (message) => dispatchLog.line(`${icons.warning} ${message}`) }));
    if (once) await openShared();
    const multiRepo = Boolean(settings.owner) || settings.repos.length > 1;
    if (!once) {
      const what = [settings.repos.join(', '), settings.owner ? `every repository of ${settings.owner}` : ''].filter(Boolean).join(' and ');
      dispatchLog.line(
        `${icons.start} watching ${what}; task files in ${settings.tasksDir}; at most ${settings.ratePerMinute} per minute; polling every ${formatDuration(settings.intervalMs)}`,
      );
    }
    const reported = new Set<string>();
    const staleNotes = createStaleNotes(join(config.stateDir, STALE_NOTES_FILE));
    const totals = await runDispatchLoop({
      once,
      signal: options.signal,
      intervalMs: settings.intervalMs,
      state,
      log: dispatchLog,
      now,
      sleep: options.sleep,
      backoff: options.backoff,
      requests: options.requests,
      runCycle: async () => {
        const { limiter, dispatched } = await openShared();
        return runDispatchCycle({
          tracker,
          config: settings,
          limiter,
          dispatched,
          state,
          log: dispatchLog,
          now,
          dryRun: options.dryRun,
          multiRepo,
          reported,
          staleNotes,
          print: (line) => consoleStream.write(`${forLog(line)}\n`),
        });
      },
    });
    if (!once) dispatchLog.line(`${icons.stop} after ${totals.cycles} polls and ${totals.dispatched} dispatches`);
    await dispatchLog.flush();
    const last = totals.last;
    return {
      dispatched: totals.dispatched,
      skipped: last ? last.alreadyDispatched + last.unassigned + last.refused : 0,
      waiting: last?.waiting ?? 0,
      errors: totals.errors,
      ...(last?.trackerDown ? { trackerDown: last.trackerFailure ?? { kind: 'unknown' } } : {}),
      ...(totals.lastError instanceof DatabaseError ? { databaseDown: totals.lastError.kind } : {}),
      cycles: totals.cycles,
      files: last?.files ?? [],
      staleFiles: last?.stale ?? [],
    };
  } finally {
    await shared?.close();
    if (!options.tracker) await tracker.close?.();
  }
}
