import { access } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Task, TrackerAdapter } from '../../../adapters/types.ts';
import type { DispatchFileConfig } from '../../config/types.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { RateLimiter, RateLimitStatus } from '../rate-limit.ts';
import { issueParts, renderTaskFile } from '../task-file.ts';
import { icons, type DispatchLog } from './log-lines.ts';
import { scanTasksDir, selectCandidates, type Candidate } from './select.ts';
import type { DispatchStateStore } from './state.ts';

/** One poll of `dispatch-file`: select → order → rate-limit → write task files. */
export interface CycleContext {
  tracker: TrackerAdapter;
  config: DispatchFileConfig;
  limiter: RateLimiter;
  state: DispatchStateStore;
  log: DispatchLog;
  now: () => number;
  dryRun: boolean;
  /** Several repositories share the assignee folders: file names carry the repository. */
  multiRepo: boolean;
  /** Keys already reported as refused, so each is logged once per process. */
  reported: Set<string>;
  /** Dry run: where the plan is printed. */
  print: (line: string) => void;
}

export interface PlannedFile {
  path: string;
  assignee: string;
  taskId: string;
  priority: string;
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
  lastError?: string;
  rate: RateLimitStatus;
  /** Written (or, in a dry run, to be written) this cycle. */
  files: PlannedFile[];
}

const READ_CONCURRENCY = 4;
const FETCH_CONCURRENCY = 8;
const WRITE_CONCURRENCY = 8;

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
  };
  const fail = (message: string) => {
    result.errors++;
    result.lastError = message;
    log.line(`${icons.error} ${message}`);
  };

  const { repos, listFailed } = await resolveRepos(context, fail);
  result.repos = repos;
  const tasks: Task[] = [];
  await mapLimit(repos, READ_CONCURRENCY, async (repo) => {
    try {
      tasks.push(...(await context.tracker.getReadyTasks([repo])));
    } catch (error) {
      result.failedRepos++;
      fail(`cannot read ${repo}: ${(error as Error).message}`);
    }
  });
  result.trackerDown = (listFailed && repos.length === 0) || (repos.length > 0 && result.failedRepos === repos.length);
  result.openTasks = tasks.length;

  const scan = await scanTasksDir(config.tasksDir);
  if (context.multiRepo && !context.reported.has(LEGACY_NAMES)) warnAboutSingleRepoNames(context, scan.folders);
  const selection = selectCandidates(tasks, { tasksDir: config.tasksDir, multiRepo: context.multiRepo, priority: config.priority, scan });
  result.alreadyDispatched = selection.alreadyDispatched;
  result.unassigned = selection.unassigned;
  result.refused = selection.refused.length;
  for (const refused of selection.refused) {
    const key = `${refused.taskId}\u0000${refused.assignee}`;
    if (context.reported.has(key)) continue;
    context.reported.add(key);
    log.line(`${icons.skipped} ${JSON.stringify(refused.assignee)} → ${describeIssue(refused.taskId, context.multiRepo)}: ${refused.reason}`);
  }

  const status = await context.limiter.status();
  const plan = selection.candidates.slice(0, status.available);
  if (context.dryRun) {
    for (const candidate of plan) {
      result.files.push(planned(candidate));
      context.print(`${icons.dryRun} would write ${candidate.path} (${candidate.assignee} → ${describeIssue(candidate.task.id, context.multiRepo)} [Priority: ${candidate.priority}])`);
    }
  } else if (plan.length > 0) {
    await writePlanned(context, plan, result, fail);
  }
  const written = new Set(result.files.map((file) => file.path));
  const waiting = selection.candidates.filter((candidate) => !written.has(candidate.path));
  result.waiting = waiting.length;

  const rate = context.dryRun ? status : await context.limiter.status();
  const took = context.now() - started;
  log.line(
    `${icons.poll} ${repos.length} ${repos.length === 1 ? 'repository' : 'repositories'}, ${result.openTasks} open: ` +
      `${context.dryRun ? `${result.files.length} would be dispatched` : `${result.dispatched} dispatched`}, ${result.alreadyDispatched} already dispatched, ${result.unassigned} unassigned, ${result.waiting} waiting` +
      `${result.failedRepos ? `, ${result.failedRepos} unreadable` : ''} (${Math.round(took)} ms)`,
  );
  if (result.waiting > 0 && context.dryRun) {
    log.line(`${icons.waiting} ${result.waiting} would wait (at most ${config.ratePerMinute} per minute)`);
  } else if (result.waiting > 0) {
    const seconds = Math.max(0, Math.ceil((rate.nextSlotAt - context.now()) / 1000));
    log.line(`${icons.waiting} ${result.waiting} waiting; next dispatch in ${seconds}s (at most ${config.ratePerMinute} per minute)`);
  }
  const final = { ...result, rate };
  publish(context, final, scan.folders, waiting, took);
  return final;
}

const LEGACY_NAMES = '\u0000legacy-names';

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

async function resolveRepos(context: CycleContext, fail: (message: string) => void): Promise<{ repos: string[]; listFailed: boolean }> {
  const repos = new Set(context.config.repos);
  const owner = context.config.owner;
  let listFailed = false;
  if (owner) {
    try {
      for (const repo of await context.tracker.listQueues!(owner)) repos.add(repo);
    } catch (error) {
      listFailed = true;
      fail(`cannot list the repositories of ${owner}: ${(error as Error).message}`);
    }
  }
  return { repos: [...repos], listFailed };
}

async function writePlanned(context: CycleContext, plan: Candidate[], result: Omit<CycleResult, 'rate'>, fail: (message: string) => void): Promise<void> {
  // Comments come with the full task; read each task once, outside the rate-limit lock.
  const full = new Map<string, Task>();
  await mapLimit([...new Set(plan.map((candidate) => candidate.task.id))], FETCH_CONCURRENCY, async (id) => {
    try {
      full.set(id, await context.tracker.getTask(id));
    } catch (error) {
      fail(`cannot read ${id}: ${(error as Error).message}`);
    }
  });
  const ready = plan.filter((candidate) => full.has(candidate.task.id));
  await context.limiter.reserve(ready.length, async (granted) => {
    // Another dispatcher may have written some since the scan: those need no slot.
    const present = await Promise.all(ready.map((candidate) => exists(candidate.path)));
    result.alreadyDispatched += present.filter(Boolean).length;
    const batch = ready.filter((_, index) => !present[index]).slice(0, granted);
    const at = new Date(context.now());
    const outcomes = new Array<boolean>(batch.length).fill(false);
    await mapLimit([...batch.keys()], WRITE_CONCURRENCY, async (index) => {
      const candidate = batch[index];
      const task = { ...candidate.task, ...full.get(candidate.task.id)! };
      try {
        await writeFileAtomic(candidate.path, renderTaskFile({ task, priority: candidate.priority, assignee: candidate.assignee, commentsLimit: context.config.commentsLimit, dispatchedAt: at }));
        outcomes[index] = true;
      } catch (error) {
        fail(`cannot write ${candidate.path}: ${(error as Error).message}`);
      }
    });
    // Logged in dispatch order, whatever order the writes finished in.
    batch.forEach((candidate, index) => {
      if (!outcomes[index]) return;
      const task = full.get(candidate.task.id)!;
      result.dispatched++;
      result.files.push(planned(candidate));
      context.log.line(`${icons.dispatched} ${candidate.assignee} → ${describeIssue(task.id, context.multiRepo)} (${task.name.replace(/\s+/g, ' ').trim()}) [Priority: ${candidate.priority}]`);
      context.state.recordDispatch({ at: at.toISOString(), assignee: candidate.assignee, taskId: task.id, title: task.name, priority: candidate.priority, url: task.url, file: candidate.path });
    });
    return { used: outcomes.filter(Boolean).length };
  });
}

function publish(context: CycleContext, result: CycleResult, folders: Map<string, Set<string>>, waiting: Candidate[], took: number): void {
  const at = new Date(context.now()).toISOString();
  context.state.update((draft) => {
    draft.repos = result.repos;
    draft.lastPollAt = at;
    draft.lastCycle = {
      at,
      durationMs: Math.round(took),
      openTasks: result.openTasks,
      dispatched: result.dispatched,
      alreadyDispatched: result.alreadyDispatched,
      unassigned: result.unassigned,
      waiting: result.waiting,
      errors: result.errors,
    };
    const assignees: Record<string, { files: number; waiting: number }> = {};
    for (const [folder, files] of folders) assignees[folder] = { files: files.size, waiting: 0 };
    for (const file of result.files) {
      if (context.dryRun) continue;
      const folder = basename(dirname(file.path));
      assignees[folder] ??= { files: 0, waiting: 0 };
      assignees[folder].files++;
    }
    for (const candidate of waiting) {
      assignees[candidate.folder] ??= { files: 0, waiting: 0 };
      assignees[candidate.folder].waiting++;
    }
    draft.assignees = assignees;
    draft.rateLimit = {
      ratePerMinute: result.rate.ratePerMinute,
      capacity: result.rate.capacity,
      windowMs: result.rate.windowMs,
      available: result.rate.available,
      nextSlotAt: new Date(result.rate.nextSlotAt).toISOString(),
    };
    draft.totals.cycles++;
    draft.totals.dispatched += result.dispatched;
    draft.totals.skipped += result.alreadyDispatched + result.unassigned + result.refused;
    draft.totals.errors += result.errors;
  });
}

/** `Issue #2` with one repository, `Issue owner/repo#2` with several. */
export function describeIssue(taskId: string, multiRepo: boolean): string {
  const { repository, number } = issueParts({ id: taskId, queue: '' });
  if (!/^\d+$/.test(number)) return `Task ${taskId}`;
  return multiRepo ? `Issue ${repository}#${number}` : `Issue #${number}`;
}

const planned = (candidate: Candidate): PlannedFile => ({ path: candidate.path, assignee: candidate.assignee, taskId: candidate.task.id, priority: candidate.priority });

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
