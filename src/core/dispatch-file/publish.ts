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
