import { basename, dirname } from 'node:path';
import type { CycleContext, CycleResult } from './cycle.ts';
import type { Candidate } from './select.ts';

/** A finished cycle as the state store shows it (the dashboard's view). */
export function publishCycle(context: CycleContext, result: CycleResult, folders: Map<string, Set<string>>, waiting: Candidate[], took: number): void {
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
    // Folders are named after logins: a Map, so a login such as `constructor` is only a name.
    const assignees = new Map<string, { files: number; waiting: number }>();
    const entry = (folder: string) => assignees.get(folder) ?? assignees.set(folder, { files: 0, waiting: 0 }).get(folder)!;
    for (const [folder, files] of folders) entry(folder).files = files.size;
    for (const file of result.files) if (!context.dryRun) entry(basename(dirname(file.path))).files++;
    for (const candidate of waiting) entry(candidate.folder).waiting++;
    draft.assignees = Object.fromEntries(assignees);
    draft.rateLimit = {
      ratePerMinute: result.rate.ratePerMinute,
      capacity: result.rate.capacity,
      windowMs: result.rate.windowMs,
      available: result.rate.available,
      nextSlotAt: new Date(result.rate.nextSlotAt).toISOString(),
    };
    draft.stale = result.stale;
    draft.totals.cycles++;
    draft.totals.dispatched += result.dispatched;
    draft.totals.skipped += result.alreadyDispatched + result.unassigned + result.refused;
    draft.totals.errors += result.errors;
  });
}
