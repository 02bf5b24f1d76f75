import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Task } from '../../../adapters/types.ts';
import type { PriorityName } from '../../config/types.ts';
import { compareTaskIds, createdTime, priorityOf, priorityRank, type PriorityMapping } from '../dispatch/priority.ts';
import { safeSegment, taskFileName, taskFilePath } from './task-file.ts';

/** One task file to write: a task for one of its assignees. */
export interface Candidate {
  task: Task;
  priority: PriorityName;
  assignee: string;
  /** The assignee's folder name under tasksDir. */
  folder: string;
  fileName: string;
  path: string;
}

/** A task file written, or in a dry run to be written. */
export interface PlannedFile {
  path: string;
  assignee: string;
  taskId: string;
  priority: PriorityName;
}

export const planned = (candidate: Candidate): PlannedFile => ({ path: candidate.path, assignee: candidate.assignee, taskId: candidate.task.id, priority: candidate.priority });

export interface Selection {
  /** In dispatch order. */
  candidates: Candidate[];
  alreadyDispatched: number;
  /** Task files found in tasksDir (counted in alreadyDispatched). */
  present: Candidate[];
  unassigned: number;
  /** Assignees whose name or folder cannot be used, with the reason. */
  refused: Array<{ taskId: string; assignee: string; reason: string }>;
}

/** What tasksDir holds: folder name → task files in it. Symlinked folders are noted, not read. */
export interface TasksDirScan {
  folders: Map<string, Set<string>>;
  symlinks: Set<string>;
}

export async function scanTasksDir(tasksDir: string): Promise<TasksDirScan> {
  const scan: TasksDirScan = { folders: new Map(), symlinks: new Set() };
  let entries;
  try {
    entries = await readdir(tasksDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return scan;
    throw error;
  }
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.isSymbolicLink()) scan.symlinks.add(entry.name);
      if (!entry.isDirectory()) return;
      const names = await readdir(join(tasksDir, entry.name));
      scan.folders.set(entry.name, new Set(names.filter((name) => name.endsWith('.md') && !name.startsWith('.'))));
    }),
  );
  return scan;
}

export interface SelectOptions {
  tasksDir: string;
  multiRepo: boolean;
  priority: PriorityMapping;
  scan: TasksDirScan;
}

/** Open tasks with at least one assignee and no task file yet, most urgent and oldest first. */
export function selectCandidates(tasks: Task[], options: SelectOptions): Selection {
  const selection: Selection = { candidates: [], alreadyDispatched: 0, present: [], unassigned: 0, refused: [] };
  const seen = new Set<string>();
  for (const task of tasks) {
    if (seen.has(task.id)) continue;
    seen.add(task.id);
    if (task.assignees.length === 0) {
      selection.unassigned++;
      continue;
    }
    const priority = priorityOf(task, options.priority);
    const fileName = taskFileName(task, options.multiRepo);
    for (const assignee of new Set(task.assignees)) {
      const folder = safeSegment(assignee);
      if (!folder) {
        selection.refused.push({ taskId: task.id, assignee, reason: 'the assignee has an empty name' });
        continue;
      }
      if (options.scan.symlinks.has(folder)) {
        selection.refused.push({ taskId: task.id, assignee, reason: `${join(options.tasksDir, folder)} is a symbolic link; task files are only written to real folders` });
        continue;
      }
      let path: string;
      try {
        path = taskFilePath(options.tasksDir, assignee, fileName)!;
      } catch (error) {
        selection.refused.push({ taskId: task.id, assignee, reason: (error as Error).message });
        continue;
      }
      const candidate = { task, priority, assignee, folder, fileName, path };
      if (options.scan.folders.get(folder)?.has(fileName)) {
        selection.alreadyDispatched++;
        selection.present.push(candidate);
        continue;
      }
      selection.candidates.push(candidate);
    }
  }
  // The order of compareByPriority, with its keys computed once per candidate rather than per comparison.
  const keyed = selection.candidates.map((candidate) => ({
    candidate,
    rank: priorityRank(candidate.priority),
    time: createdTime(candidate.task.createdAt),
    slot: candidate.task.assignees.indexOf(candidate.assignee),
  }));
  keyed.sort((a, b) => a.rank - b.rank || a.time - b.time || compareTaskIds(a.candidate.task.id, b.candidate.task.id) || a.slot - b.slot);
  selection.candidates = keyed.map((item) => item.candidate);
  return selection;
}
