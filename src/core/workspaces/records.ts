import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';

/**
 * What the dispatcher knows of each workspace, in `root/.dispatcher/<key>.json` — beside the
 * folders, never inside them (a file in a worktree would show in `git status`). Keys never start
 * with a dot, so no task's folder can be this one.
 */
export interface WorkspaceRecord {
  key: string;
  taskId: string;
  taskName: string;
  route: string;
  path: string;
  repo?: string;
  branch?: string;
  createdAt: string;
  /** after_create succeeded: the workspace is usable. false: a create was cut short, start over. */
  ready: boolean;
  /** A hook under way (so that a crash mid-hook leaves no hook running into the next create). */
  hookGroup?: { pgid: number; startTicks?: string };
}

export const RECORDS_FOLDER = '.dispatcher';

export function recordFile(root: string, key: string): string {
  return join(root, RECORDS_FOLDER, `${key}.json`);
}

export async function readRecord(root: string, key: string): Promise<WorkspaceRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordFile(root, key), 'utf8')) as WorkspaceRecord;
  } catch {
    return undefined; // missing, or torn by hand: the folder is then judged as it is
  }
}

export async function writeRecord(root: string, record: WorkspaceRecord): Promise<void> {
  await writeFileAtomic(recordFile(root, record.key), `${JSON.stringify(record, null, 2)}\n`);
}

export async function deleteRecord(root: string, key: string): Promise<void> {
  await rm(recordFile(root, key), { force: true });
}

/** Every workspace recorded under `root`. */
export async function listRecords(root: string): Promise<WorkspaceRecord[]> {
  let names: string[];
  try {
    names = await readdir(join(root, RECORDS_FOLDER));
  } catch {
    return [];
  }
  const records = await Promise.all(names.filter((name) => name.endsWith('.json') && !name.startsWith('.')).map((name) => readRecord(root, name.slice(0, -'.json'.length))));
  return records.filter((record): record is WorkspaceRecord => record !== undefined);
}
