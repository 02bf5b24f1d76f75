import { access } from 'node:fs/promises';
import type { Candidate, Selection } from './select.ts';

/**
 * What dispatch-file has dispatched already, so no issue goes to one assignee twice. Two
 * implementations: the task files in tasks_dir (one host; a file, however it got there, means
 * dispatched), and PostgreSQL with [coordination] (several hosts, each with its own tasks_dir,
 * sharing one set: postgres-dispatched-set.ts).
 *
 * A cycle asks `review` to take out what is dispatched already, then, for the files the rate limit
 * grants, `claim` just before writing and `settle` just after.
 */
export interface DispatchedSet {
  /**
   * Takes out of `selection.candidates` what is dispatched already beyond the files in tasks_dir
   * (counting it in `alreadyDispatched`). A dry run changes nothing anywhere.
   */
  review(selection: Selection, options: { dryRun: boolean }): Promise<void>;
  /**
   * Takes up to `wanted` candidates, in order, for this process. Those dispatched meanwhile by
   * someone else (another process, another host, a file written by hand) are passed over and
   * counted in `taken`.
   */
  claim(candidates: Candidate[], wanted: number): Promise<{ claimed: Candidate[]; taken: number }>;
  /** After the writes: the written files are dispatched for good; the claims of the failed ones are given back. */
  settle(written: Candidate[], failed: Candidate[]): Promise<void>;
}

/** Today's set: a task file in tasks_dir means dispatched; deleting it dispatches the issue again. */
export function createFileDispatchedSet(): DispatchedSet {
  return {
    async review() {
      // selectCandidates already left out every task file found in tasks_dir.
    },
    async claim(candidates, wanted) {
      const present = await Promise.all(candidates.map((candidate) => fileExists(candidate.path)));
      const free = candidates.filter((_, index) => !present[index]);
      return { claimed: free.slice(0, Math.max(0, wanted)), taken: present.filter(Boolean).length };
    },
    async settle() {
      // The file is the record.
    },
  };
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
