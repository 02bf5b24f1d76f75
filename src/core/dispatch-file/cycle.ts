import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import { trackerFailureOf, type TrackerFailure } from '../../errors.ts';
import type { DispatchFileConfig } from '../../config/types.ts';
import type { RateLimiter, RateLimitStatus } from './rate-limit.ts';
import { mapLimit } from './map-limit.ts';
import { publishCycle } from './publish.ts';
import { describeIssue, icons, type DispatchLog } from './log-lines.ts';
import { planned, scanTasksDir, selectCandidates, type PlannedFile } from './select.ts';
import { writeTaskFiles } from './write.ts';
import type { DispatchStateStore } from './state.ts';
import type { DispatchedSet } from './dispatched-set.ts';
import { findStaleFiles, staleLine, type StaleNotes, type StaleTaskFile } from './stale.ts';

/** One poll of `dispatch-file`: select → order → rate-limit → claim → write task files. */
export interface CycleContext {
  tracker: TrackerAdapter;
  config: DispatchFileConfig;
  limiter: RateLimiter;
  /** What is dispatched already: the task files, or with [coordination] the database. */
  dispatched: DispatchedSet;
  state: DispatchStateStore;
  log: DispatchLog;
  now: () => number;
  dryRun: boolean;
  /** Several repositories share the assignee folders: file names carry the repository. */
  multiRepo: boolean;
  /** Keys already reported as refused, so each is logged once per process. */
  reported: Set<string>;
  /** What is known of task files whose issue was closed or reassigned (each change is logged once). */
  staleNotes: StaleNotes;
  /** Dry run: where the plan is printed. */
  print: (line: string) => void;
}

export interface CycleResult {
  repos: string[];
  openTasks: number;
  dispatched: number;
  alreadyDispatched: number;
  unassigned: number;
  refused: number;
  waiting: number;
  errors: number;
  /** Repositories that could not be read. */
  failedRepos: number;
  /** Nothing could be read: the loop backs off. */
  trackerDown: boolean;
  /** The last tracker failure (dispatch-file --once's exit code). */
  trackerFailure?: TrackerFailure;
  lastError?: string;
  rate: RateLimitStatus;
  /** Written (or, in a dry run, to be written) this cycle. */
  files: PlannedFile[];
  /** Task files whose issue is closed, or assigned to others, since they were written. */
  stale: StaleTaskFile[];
}

/** Repositories are read one after the other: the adapter already reads a few pages at once. */
const READ_CONCURRENCY = 1;

export async function runDispatchCycle(context: CycleContext): Promise<CycleResult> {
  const started = context.now();
  const { config, log } = context;
  const result: Omit<CycleResult, 'rate'> = {
    repos: [],
    openTasks: 0,
    dispatched: 0,
    alreadyDispatched: 0,
    unassigned: 0,
    refused: 0,
    waiting: 0,
    errors: 0,
    failedRepos: 0,
    trackerDown: false,
    files: [],
    stale: [],
  };
  const fail = (message: string, error?: unknown) => {
    result.trackerFailure = trackerFailureOf(error) ?? result.trackerFailure;
    result.errors++;
    result.lastError = message;
    log.line(`${icons.error} ${message}`);
  };

  const { repos, listFailed } = await resolveRepos(context, fail);
  result.repos = repos;
  const tasks: Task[] = [];
  const unread = new Set<string>();
  await mapLimit(repos, READ_CONCURRENCY, async (repo) => {
    try {
      tasks.push(...(await context.tracker.getReadyTasks([repo])));
    } catch (error) {
      unread.add(repo);
      result.failedRepos++;
      fail(`cannot read ${repo}: ${(error as Error).message}`, error);
    }
  });
  result.trackerDown = (listFailed && repos.length === 0) || (repos.length > 0 && result.failedRepos === repos.length);
  result.openTasks = tasks.length;

  const scan = await scanTasksDir(config.tasksDir);
  if (context.multiRepo && !context.reported.has(LEGACY_NAMES)) warnAboutSingleRepoNames(context, scan.folders);
  const selection = selectCandidates(tasks, { tasksDir: config.tasksDir, multiRepo: context.multiRepo, priority: config.priority, scan });
  await context.dispatched.review(selection, { dryRun: context.dryRun });
  result.alreadyDispatched = selection.alreadyDispatched;
  result.unassigned = selection.unassigned;
  result.refused = selection.refused.length;
  for (const refused of selection.refused) {
    const key = `${refused.taskId}\u0000${refused.assignee}`;
    if (context.reported.has(key)) continue;
    context.reported.add(key);
    log.line(`${icons.skipped} ${JSON.stringify(refused.assignee)} → ${describeIssue(refused.taskId, context.multiRepo)}: ${refused.reason}`);
  }

  await noteStaleFiles(context, result, { folders: scan.folders, openTasks: tasks, readRepos: repos.filter((repo) => !unread.has(repo)), multiRepo: context.multiRepo, now: new Date(started).toISOString() });

  const status = await context.limiter.status();
  const plan = selection.candidates.slice(0, status.available);
  if (context.dryRun) {
    for (const candidate of plan) {
      result.files.push(planned(candidate));
      context.print(`${icons.dryRun} would write ${candidate.path} (${candidate.assignee} → ${describeIssue(candidate.task.id, context.multiRepo)} [Priority: ${candidate.priority}])`);
    }
  } else if (plan.length > 0) {
    await writeTaskFiles(context, plan, result, fail, started);
  }
  const written = new Set(result.files.map((file) => file.path));
  const waiting = selection.candidates.filter((candidate) => !written.has(candidate.path));
  result.waiting = waiting.length;

  const rate = context.dryRun ? status : await context.limiter.status();
  const took = context.now() - started;
  log.line(
    `${icons.poll} ${repos.length} ${repos.length === 1 ? 'repository' : 'repositories'}, ${result.openTasks} open: ` +
      `${context.dryRun ? `${result.files.length} would be dispatched` : `${result.dispatched} dispatched`}, ${result.alreadyDispatched} already dispatched, ${result.unassigned} unassigned, ${result.waiting} waiting` +
      `${result.failedRepos ? `, ${result.failedRepos} unreadable` : ''}${result.stale.length ? `, ${result.stale.length} stale task ${result.stale.length === 1 ? 'file' : 'files'}` : ''} (${Math.round(took)} ms)`,
  );
  if (result.waiting > 0 && context.dryRun) {
    log.line(`${icons.waiting} ${result.waiting} would wait (at most ${config.ratePerMinute} per minute)`);
  } else if (result.waiting > 0) {
    const seconds = Math.max(0, Math.ceil((rate.nextSlotAt - context.now()) / 1000));
    log.line(`${icons.waiting} ${result.waiting} waiting; next dispatch in ${seconds}s (at most ${config.ratePerMinute} per minute)`);
  }
  const final = { ...result, rate };
  publishCycle(context, final, scan.folders, waiting, took);
  return final;
}

const LEGACY_NAMES = '\u0000legacy-names';
const STALE_NOT_SAVED = '\u0000stale-not-saved';

/** Task files whose issue was closed or reassigned since: one line per change, the list on the dashboard. */
async function noteStaleFiles(context: CycleContext, result: Omit<CycleResult, 'rate'>, input: Parameters<typeof findStaleFiles>[0]): Promise<void> {
  const notes = await context.staleNotes.update(findStaleFiles(input), { save: !context.dryRun });
  for (const entry of notes.changed) context.log.line(staleLine(entry, context.multiRepo));
  result.stale = notes.current;
  if (notes.saveError && !context.reported.has(STALE_NOT_SAVED)) {
    context.reported.add(STALE_NOT_SAVED);
    context.log.line(`${icons.warning} cannot record the stale task files (${notes.saveError.message}): the next run may report them again`);
  }
}

/** Files named for one repository (issue-N.md) are not recognised once several are configured. */
function warnAboutSingleRepoNames(context: CycleContext, folders: Map<string, Set<string>>): void {
  const count = [...folders.values()].reduce((sum, files) => sum + [...files].filter((name) => /^issue-\d+\.md$/.test(name)).length, 0);
  if (count === 0) return;
  context.reported.add(LEGACY_NAMES);
  context.log.line(
    `${icons.warning} ${count} task files are named issue-N.md, the one-repository form; with several repositories files are ` +
      `named <owner>+<repo>-issue-N.md, so those issues will be dispatched again unless you rename the files (see docs/task-files.md)`,
  );
}

async function resolveRepos(context: CycleContext, fail: (message: string, error?: unknown) => void): Promise<{ repos: string[]; listFailed: boolean }> {
  const repos = new Set(context.config.repos);
  const owner = context.config.owner;
  let listFailed = false;
  if (owner) {
    try {
      for (const repo of await context.tracker.listQueues!(owner)) repos.add(repo);
    } catch (error) {
      listFailed = true;
      fail(`cannot list the repositories of ${owner}: ${(error as Error).message}`, error);
    }
  }
  return { repos: [...repos], listFailed };
}
