/**
 * The schema of the PostgreSQL ledger, one entry per version; a new version is appended, never
 * edited. Each runs in its own transaction under the migration lock (see migrate.ts).
 *
 * - `dispatcher_hosts`: one row per host name; its lease is alive while `lease_until` is ahead.
 * - `dispatcher_runs`: every run, active and finished. Only one active run per task of a tracker
 *   (the partial unique index), so two hosts reserving the same task at once cannot both win.
 *   `fence` is bumped when another host takes a run over; a write carrying an older one is refused.
 * - `dispatcher_file_rate` (v2): dispatch-file's rate limit, one row per tracker holding the
 *   window's dispatches, locked (`for update`) while a host takes its share, so every host running
 *   dispatch-file against one tracker shares one allowance.
 * - `dispatcher_file_dispatches` (v2): dispatch-file's "already dispatched" set, one row per
 *   (tracker, issue, assignee); a host claims a row before writing the task file (`on conflict do
 *   nothing`), so two hosts never dispatch one issue to one assignee twice, whatever their tasks_dir.
 *   `written_at` is set once the file is written; a claim left unwritten (a host died between the
 *   two) can be taken over after a while.
 * - `dispatcher_outbox` (v3): the tracker changes a host owes, one row per run, so a host taking
 *   over a dead one carries them out. `dispatcher_fenced` makes a write whose fencing tokens no
 *   longer match fail inside the database, before its transaction commits.
 * - `dispatcher_hosts.last_write` (v4): the id of the newest write of the process holding the
 *   host's lease, set in that write's transaction. When a connection dies while a `commit` is on
 *   its way, the host reads it back to tell a write that landed from one that did not.
 * - `dispatcher_runs.changed_at` (v5): when the row was last written, by the database's clock, set
 *   by a trigger on every insert and update whoever writes it (a takeover, a host of an older
 *   build), so a host can tell that another host's run of a task changed after its own poll read
 *   the tracker, without comparing the hosts' clocks (see ledger-sql.ts, reservations.ts).
 *   `clock_timestamp()`, not `now()`: `now()` is when the writing transaction began, possibly long
 *   before it commits (it may wait for the cluster-wide lock); what must be bounded is the time
 *   from the stamp to the commit, and the update runs in the same round trip as its `commit`.
 *   Rows written before v5 read as `-infinity`: long ago (no table rewrite).
 */
export const MIGRATIONS: readonly string[] = [
  `
  create table dispatcher_hosts (
    host_id text primary key,
    instance text not null,
    started_at timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    lease_until timestamptz not null,
    taken_over_at timestamptz,
    taken_over_by text,
    state jsonb not null default '{}'::jsonb
  );
  create table dispatcher_runs (
    id text primary key,
    tracker text not null,
    task_id text not null,
    route text not null,
    host_id text not null,
    status text not null,
    fence bigint not null default 1,
    record jsonb not null,
    created_at timestamptz not null default now(),
    ended_at timestamptz
  );
  create unique index dispatcher_runs_one_active_per_task on dispatcher_runs (tracker, task_id)
    where status in ('starting', 'running', 'retry_wait');
  create index dispatcher_runs_active_by_host on dispatcher_runs (host_id)
    where status in ('starting', 'running', 'retry_wait');
  create index dispatcher_runs_recent on dispatcher_runs (ended_at desc) where ended_at is not null;
  `,
  `
  create table dispatcher_file_rate (
    tracker text primary key,
    events jsonb not null default '[]'::jsonb
  );
  create table dispatcher_file_dispatches (
    tracker text not null,
    task_id text not null,
    assignee text not null,
    host_id text not null,
    file text not null,
    claimed_at timestamptz not null default now(),
    written_at timestamptz,
    primary key (tracker, task_id, assignee)
  );
  `,
  `
  create table dispatcher_outbox (
    run_id text primary key,
    host_id text not null,
    seq bigserial,
    entries jsonb not null
  );
  create index dispatcher_outbox_by_host on dispatcher_outbox (host_id, seq);
  create index dispatcher_runs_history_by_host on dispatcher_runs (host_id, ended_at desc) where ended_at is not null;
  create function dispatcher_fenced(expected bigint, written bigint) returns void language plpgsql as $$
  begin
    if expected <> written then
      raise exception 'dispatcher: stale fencing token (% of % runs written)', written, expected using errcode = 'DF001';
    end if;
  end $$;
  `,
  `
  alter table dispatcher_hosts add column last_write text;
  `,
  `
  alter table dispatcher_runs add column changed_at timestamptz not null default '-infinity';
  create function dispatcher_runs_stamp() returns trigger language plpgsql as $$
  begin
    new.changed_at := clock_timestamp();
    return new;
  end $$;
  create trigger dispatcher_runs_changed before insert or update on dispatcher_runs
    for each row execute function dispatcher_runs_stamp();
  create index dispatcher_runs_ended_recently on dispatcher_runs (tracker, changed_at)
    where status not in ('starting', 'running', 'retry_wait');
  `,
];
