import type { Task } from '../../../adapters/types.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { renderTaskFile } from './task-file.ts';
import type { CycleContext, CycleResult } from './cycle.ts';
import { describeIssue, icons } from './log-lines.ts';
import { mapLimit } from './map-limit.ts';
import { cut, oneLine } from '../../util/printable.ts';
import { planned, type Candidate } from './select.ts';

const FETCH_CONCURRENCY = 8;
const WRITE_CONCURRENCY = 8;
/** A 100 KB title is cut in the log line (which still ends with its priority) and on the dashboard. */
const MAX_TITLE_IN_LOG = 200;
const MAX_TITLE_ON_DASHBOARD = 1_000;

/**
 * Writes the planned task files: each task read in full (comments) outside the rate-limit lock,
 * then as many files as the limiter grants, each claimed in the dispatched set first (another
 * process or host may have dispatched it since the scan), atomically, logged in dispatch order.
 */
export async function writeTaskFiles(context: CycleContext, plan: Candidate[], result: Omit<CycleResult, 'rate'>, fail: (message: string) => void, startedAt: number): Promise<void> {
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
    // Another dispatcher may have dispatched some since the scan: those need no slot.
    const { claimed: batch, taken } = await context.dispatched.claim(ready, granted);
    result.alreadyDispatched += taken;
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
      const title = oneLine(task.name.replace(/\s+/g, ' ').trim());
      context.log.line(`${icons.dispatched} ${candidate.assignee} → ${describeIssue(task.id, context.multiRepo)} (${cut(title, MAX_TITLE_IN_LOG)}) [Priority: ${candidate.priority}]`);
      context.state.recordDispatch({ at: at.toISOString(), assignee: candidate.assignee, taskId: task.id, title: cut(title, MAX_TITLE_ON_DASHBOARD), priority: candidate.priority, url: task.url, file: candidate.path });
    });
    // After the log lines: should the database fail now, the files written are still told; the next
    // cycle finds them and records them.
    await context.dispatched.settle(
      batch.filter((_, index) => outcomes[index]),
      batch.filter((_, index) => !outcomes[index]),
    );
    return { used: outcomes.filter(Boolean).length };
  }, startedAt);
}
