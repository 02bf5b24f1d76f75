import type { DispatchedSet } from './dispatched-set.ts';
import { fileExists } from './dispatched-set.ts';
import type { DispatchFilePool } from './postgres-pool.ts';
import type { Candidate } from './select.ts';

/**
 * The dispatched set in PostgreSQL ([coordination]): a row per (tracker, issue, assignee) in
 * `dispatcher_file_dispatches`, shared by every host running dispatch-file against that tracker.
 *
 * - A host claims the row (`insert … on conflict do nothing`) before it writes the task file, and
 *   marks it written after: of two hosts claiming at once one wins, whatever their tasks_dir.
 * - A claim never marked written (the host died between the two) may be taken over after
 *   `CLAIM_TIMEOUT`; a task file found in tasks_dir whose row is missing or is still this host's
 *   claim is recorded as written (the files of a host from before [coordination], a crash after
 *   the write).
 * - Deleting a task file dispatches the issue again, as without [coordination]: the host that wrote
 *   it (same host_id, same path) gives its row back when the file is gone.
 */
export interface PostgresDispatchedSetOptions {
  pool: DispatchFilePool;
  /** The tracker's key (kind and address, no secret): hosts with the same key share the set. */
  tracker: string;
  hostId: string;
}

/** Long enough for any write to finish; short enough that a host dying mid-dispatch costs little. */
export const CLAIM_TIMEOUT = '10 minutes';

interface Row {
  task_id: string;
  assignee: string;
  host_id: string;
  file: string;
  written: boolean;
  stale: boolean;
}

const keyOf = (taskId: string, assignee: string) => `${taskId}\u0000${assignee}`;
const columns = (candidates: Candidate[]) => [candidates.map((candidate) => candidate.task.id), candidates.map((candidate) => candidate.assignee), candidates.map((candidate) => candidate.path)];

export function createPostgresDispatchedSet({ pool, tracker, hostId }: PostgresDispatchedSetOptions): DispatchedSet {
  const mine = (row: Row, candidate: Candidate) => row.host_id === hostId && row.file === candidate.path;

  /** Records task files found on disk as written: missing rows, and this host's own claims left unmarked. */
  async function recordFound(found: Candidate[]): Promise<void> {
    if (found.length === 0) return;
    const [tasks, assignees, files] = columns(found);
    await pool.query(
      `insert into dispatcher_file_dispatches as d (tracker, task_id, assignee, host_id, file, written_at)
       select $1, t.task_id, t.assignee, $2, t.file, now() from unnest($3::text[], $4::text[], $5::text[]) as t(task_id, assignee, file)
       on conflict (tracker, task_id, assignee) do update set written_at = now()
       where d.written_at is null and d.host_id = excluded.host_id and d.file = excluded.file`,
      [tracker, hostId, tasks, assignees, files],
    );
  }

  return {
    async review(selection, { dryRun }) {
      const all = [...selection.candidates, ...selection.present];
      if (all.length === 0) return;
      const [tasks, assignees] = columns(all);
      const { rows } = await pool.query<Row>(
        `select d.task_id, d.assignee, d.host_id, d.file, d.written_at is not null as written,
                d.written_at is null and d.claimed_at < now() - interval '${CLAIM_TIMEOUT}' as stale
         from dispatcher_file_dispatches d join unnest($2::text[], $3::text[]) as t(task_id, assignee) using (task_id, assignee)
         where d.tracker = $1`,
        [tracker, tasks, assignees],
      );
      const byKey = new Map(rows.map((row) => [keyOf(row.task_id, row.assignee), row]));
      const rowOf = (candidate: Candidate) => byKey.get(keyOf(candidate.task.id, candidate.assignee));

      if (!dryRun) {
        await recordFound(selection.present.filter((candidate) => {
          const row = rowOf(candidate);
          return !row || (!row.written && mine(row, candidate));
        }));
      }
      // This host's file is gone: the row is given back and the issue dispatched again.
      const gone = selection.candidates.filter((candidate) => {
        const row = rowOf(candidate);
        return row !== undefined && mine(row, candidate) && (row.written || row.stale);
      });
      if (gone.length > 0 && !dryRun) {
        const [goneTasks, goneAssignees, goneFiles] = columns(gone);
        await pool.query(
          `delete from dispatcher_file_dispatches d using unnest($3::text[], $4::text[], $5::text[]) as t(task_id, assignee, file)
           where d.tracker = $1 and d.host_id = $2 and d.task_id = t.task_id and d.assignee = t.assignee and d.file = t.file
             and (d.written_at is not null or d.claimed_at < now() - interval '${CLAIM_TIMEOUT}')`,
          [tracker, hostId, goneTasks, goneAssignees, goneFiles],
        );
      }
      const given = new Set(gone);
      const open = selection.candidates.filter((candidate) => {
        const row = rowOf(candidate);
        return row === undefined || given.has(candidate) || row.stale;
      });
      selection.alreadyDispatched += selection.candidates.length - open.length;
      selection.candidates = open;
    },

    async claim(candidates, wanted) {
      // A file written by hand (or by another process on this host) since the scan is never overwritten.
      const present = await Promise.all(candidates.map((candidate) => fileExists(candidate.path)));
      await recordFound(candidates.filter((_, index) => present[index]));
      const queue = candidates.filter((_, index) => !present[index]);
      const claimed: Candidate[] = [];
      let taken = present.filter(Boolean).length;
      while (claimed.length < wanted && queue.length > 0) {
        const batch = queue.splice(0, wanted - claimed.length);
        const [tasks, assignees, files] = columns(batch);
        const { rows } = await pool.query<{ task_id: string; assignee: string }>(
          `insert into dispatcher_file_dispatches as d (tracker, task_id, assignee, host_id, file)
           select $1, t.task_id, t.assignee, $2, t.file from unnest($3::text[], $4::text[], $5::text[]) as t(task_id, assignee, file)
           on conflict (tracker, task_id, assignee) do update
             set host_id = excluded.host_id, file = excluded.file, claimed_at = now(), written_at = null
             where d.written_at is null and d.claimed_at < now() - interval '${CLAIM_TIMEOUT}'
           returning d.task_id, d.assignee`,
          [tracker, hostId, tasks, assignees, files],
        );
        const won = new Set(rows.map((row) => keyOf(row.task_id, row.assignee)));
        for (const candidate of batch) {
          if (won.has(keyOf(candidate.task.id, candidate.assignee))) claimed.push(candidate);
          else taken++;
        }
      }
      // The order the files go out in is the selection's, whichever batch won them.
      const order = new Map(candidates.map((candidate, index) => [candidate, index]));
      claimed.sort((a, b) => order.get(a)! - order.get(b)!);
      return { claimed, taken };
    },

    async settle(written, failed) {
      if (written.length > 0) {
        const [tasks, assignees, files] = columns(written);
        await pool.query(
          `update dispatcher_file_dispatches d set written_at = now()
           from unnest($3::text[], $4::text[], $5::text[]) as t(task_id, assignee, file)
           where d.tracker = $1 and d.host_id = $2 and d.task_id = t.task_id and d.assignee = t.assignee and d.file = t.file`,
          [tracker, hostId, tasks, assignees, files],
        );
      }
      if (failed.length > 0) {
        const [tasks, assignees, files] = columns(failed);
        await pool.query(
          `delete from dispatcher_file_dispatches d using unnest($3::text[], $4::text[], $5::text[]) as t(task_id, assignee, file)
           where d.tracker = $1 and d.host_id = $2 and d.task_id = t.task_id and d.assignee = t.assignee and d.file = t.file and d.written_at is null`,
          [tracker, hostId, tasks, assignees, files],
        );
      }
    },
  };
}
