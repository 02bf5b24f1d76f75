import { readFile } from 'node:fs/promises';
import type { Task } from '../../../adapters/types.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { safeSegment, taskFileName, taskFilePrefix } from './task-file.ts';
import { describeIssue, icons } from './log-lines.ts';

/**
 * Task files that outlived their reason: the issue was closed (or deleted, or moved away) or
 * assigned to someone else after the file was written. The file is the user's: it is never
 * removed, only reported, once per change (docs/task-files.md says what to do).
 */
export interface StaleTaskFile {
  /** `<folder>/<file name>`, relative to tasks_dir. */
  file: string;
  /** The assignee's folder (the login, made safe). */
  folder: string;
  taskId: string;
  /** closed: no longer among the open issues; reassigned: open, but no longer assigned to this folder's login. */
  kind: 'closed' | 'reassigned';
  /** reassigned: who has it now (empty: nobody). */
  assignees?: string[];
  /** ISO 8601: first seen like this. */
  since: string;
}

export interface StaleScan {
  stale: StaleTaskFile[];
  /** Files judged this cycle (their repository was read); others keep what was known of them. */
  judged: Set<string>;
  /** Every task file there is: what was known of a file now gone is forgotten. */
  present: Set<string>;
}

/**
 * Each task file of a repository read this cycle whose issue is not open, or open but not assigned
 * to the folder's login. Files of repositories that could not be read are not judged.
 */
export function findStaleFiles(input: { folders: Map<string, Set<string>>; openTasks: Task[]; readRepos: string[]; multiRepo: boolean; now: string }): StaleScan {
  const openByFile = new Map<string, Task>();
  for (const task of input.openTasks) openByFile.set(taskFileName(task, input.multiRepo), task);
  const prefixes = new Map<string, string>();
  // One repository without its name in the file names: only it can own `issue-N.md`.
  if (input.multiRepo || input.readRepos.length === 1) for (const repo of input.readRepos) prefixes.set(taskFilePrefix(repo, input.multiRepo), repo);
  const scan: StaleScan = { stale: [], judged: new Set(), present: new Set() };
  for (const [folder, files] of input.folders) {
    for (const name of files) {
      scan.present.add(`${folder}/${name}`);
      const owner = [...prefixes].find(([prefix]) => name.startsWith(prefix) && /^\d+\.md$/.test(name.slice(prefix.length)));
      if (!owner) continue;
      const file = `${folder}/${name}`;
      scan.judged.add(file);
      const task = openByFile.get(name);
      if (!task) {
        const number = name.slice(owner[0].length, -'.md'.length);
        scan.stale.push({ file, folder, taskId: owner[1].includes('/') ? `${owner[1]}#${number}` : number, kind: 'closed', since: input.now });
      } else if (!task.assignees.some((login) => safeSegment(login) === folder)) {
        scan.stale.push({ file, folder, taskId: task.id, kind: 'reassigned', assignees: [...task.assignees], since: input.now });
      }
    }
  }
  scan.stale.sort((a, b) => a.file.localeCompare(b.file));
  return scan;
}

/** The log line for a file that became stale (or stale in another way). */
export function staleLine(entry: StaleTaskFile, multiRepo: boolean): string {
  const issue = describeIssue(entry.taskId, multiRepo);
  const why = entry.kind === 'closed' ? 'is no longer open (closed, deleted or moved)' : `is no longer assigned to ${entry.folder} (now: ${entry.assignees?.length ? entry.assignees.join(', ') : 'nobody'})`;
  return `${icons.warning} ${issue} ${why}, but its task file ${entry.file} is still there: tell whoever works from it, then delete it (it is never deleted for you)`;
}

const sameState = (a: StaleTaskFile, b: StaleTaskFile) => a.kind === b.kind && (a.assignees ?? []).join('\n') === (b.assignees ?? []).join('\n');

/**
 * What is known of stale files, kept in `<state_dir>/dispatch-file-stale.json` so that a cron
 * `--once` every minute reports each change once, not every minute. Only notes: a damaged or
 * missing file means each stale file is reported once more.
 */
export interface StaleNotes {
  /** The scan merged into what was known: the changes (new, or stale in another way) and the full list. */
  update(scan: StaleScan, options: { save: boolean }): Promise<{ changed: StaleTaskFile[]; current: StaleTaskFile[]; saveError?: Error }>;
}

export function createStaleNotes(file: string | undefined): StaleNotes {
  let known: Map<string, StaleTaskFile> | undefined;
  let saved = '';
  const load = async () => {
    if (known) return known;
    known = new Map();
    if (!file) return known;
    try {
      saved = await readFile(file, 'utf8');
      const parsed = JSON.parse(saved) as { files?: StaleTaskFile[] };
      for (const entry of Array.isArray(parsed.files) ? parsed.files : []) if (entry && typeof entry.file === 'string') known.set(entry.file, entry);
    } catch {
      // Missing or damaged: start afresh (each stale file is reported once more).
    }
    return known;
  };
  return {
    async update(scan, options) {
      const before = await load();
      const next = new Map([...before].filter(([path]) => scan.present.has(path) && !scan.judged.has(path)));
      const changed: StaleTaskFile[] = [];
      for (const entry of scan.stale) {
        const was = before.get(entry.file);
        if (was && sameState(was, entry)) next.set(entry.file, was);
        else {
          next.set(entry.file, entry);
          changed.push(entry);
        }
      }
      const current = [...next.values()].sort((a, b) => a.file.localeCompare(b.file));
      let saveError: Error | undefined;
      if (options.save) {
        known = next;
        const text = `${JSON.stringify({ version: 1, files: current }, null, 2)}\n`;
        if (file && text !== saved) {
          try {
            await writeFileAtomic(file, text);
            saved = text;
          } catch (error) {
            saveError = error as Error;
          }
        }
      }
      return { changed, current, saveError };
    },
  };
}
