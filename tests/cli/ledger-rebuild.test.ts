import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readJson, runCli, waitFor } from '../helpers.ts';
import { isProcessGroupAlive } from '../../src/core/process/process-group.ts';
import { AGENTS, NODE, project, startDaemon, task } from './support.ts';

type Comment = { text: string };
type Board = { queues: Record<string, Array<{ id: string; comments: Comment[]; assignees: string[] }>> };
type Run = { id: string; taskId: string; status: string; pid?: number; pgid?: number; outcome?: string };

/** Task ids of their own: other tests' agents run on this machine too, and /proc is machine-wide. */
const unique = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;
const queueOf = (board: Board, id: string) => Object.entries(board.queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];
const commentsOf = (board: Board, id: string) => Object.values(board.queues).flat().find((t) => t.id === id)!.comments.map((c) => c.text);
const finishedRuns = (dir: string): Run[] => {
  const file = join(dir, '.dispatcher/runs.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Run) : [];
};
const keptFiles = (dir: string) => readdirSync(join(dir, '.dispatcher')).filter((name) => /^ledger\.json\.(damaged|replaced)-/.test(name));
const ROUTING = `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'go-file.mjs'))}, "."]\nin_progress_queue = "In Progress"\non_success_queue = "Done"\non_failure_queue = "Failed"\nmax_attempts = 1\n`;
const DAMAGED = '{"version":1,"runs":[{"id":"x","taskId":';

describe('dispatcher ledger rebuild', () => {
  it('after kill -9 and a damaged ledger: the live agent is adopted (its token still works), the tasks left in progress are settled, the damaged file is kept', async () => {
    const [live, ended, killed] = [unique('live'), unique('ended'), unique('killed')];
    const p = project([task(live, 'comment, then succeed'), task(ended, 'ends meanwhile'), task(killed, 'killed meanwhile')], ROUTING, 'max_concurrent_agents = 3');
    const ledger = join(p.dir, '.dispatcher/ledger.json');
    const first = startDaemon(p.dir);
    let second: ReturnType<typeof startDaemon> | undefined;
    let runs: Run[] = [];
    try {
      runs = await waitFor(() => {
        const found = existsSync(ledger) ? readJson<{ runs: Run[] }>(ledger).runs : [];
        return found.length === 3 && found.every((run) => run.status === 'running' && run.pgid) ? found : undefined;
      }, 20_000, 'three agents running');
      await rebuildAndRestart();
    } finally {
      // Whatever failed, nothing of this test outlives it.
      for (const daemon of [first, second]) daemon?.child.kill('SIGKILL');
      for (const run of runs) if (run.pgid && isProcessGroupAlive(run.pgid)) process.kill(-run.pgid, 'SIGKILL');
    }

    async function rebuildAndRestart(): Promise<void> {
      const runOf = (id: string) => runs.find((run) => run.taskId === id)!;

      const refused = await runCli(['ledger', 'rebuild'], { cwd: p.dir });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`a dispatcher process \\(pid ${first.child.pid}\\) still uses the ledger`));

      first.child.kill('SIGKILL');
      await first.exited;
      writeFileSync(ledger, DAMAGED);
      // While no dispatcher runs: one agent ends by itself, one is killed with its waiter (no exit status).
      writeFileSync(join(p.dir, `go-${ended}`), '0');
      await waitFor(() => existsSync(join(p.dir, '.dispatcher/runs', `${runOf(ended).id}.exit`)), 15_000, 'the ended agent wrote its status');
      process.kill(-runOf(killed).pgid!, 'SIGKILL');
      await waitFor(() => !isProcessGroupAlive(runOf(ended).pgid!) && !isProcessGroupAlive(runOf(killed).pgid!), 10_000, 'two agents gone');

      const status = await runCli(['status'], { cwd: p.dir });
      assert.equal(status.code, 2);
      assert.match(status.stderr, /is damaged .*Run `dispatcher ledger rebuild`/);

      const dry = await runCli(['ledger', 'rebuild', '--dry-run'], { cwd: p.dir });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /damaged \(/);
      assert.match(dry.stdout, /1 live agent\(s\) to adopt/);
      assert.match(dry.stdout, new RegExp(`task ${live}\\trun ${runOf(live).id}\\tpid ${runOf(live).pid}`));
      assert.match(dry.stdout, /2 in-progress task\(s\) with no agent/);
      assert.match(dry.stdout, /dry run: nothing was changed/);
      assert.equal(readFileSync(ledger, 'utf8'), DAMAGED, 'a dry run changes nothing');
      assert.deepEqual(keptFiles(p.dir), []);

      const rebuilt = await runCli(['ledger', 'rebuild', '--json'], { cwd: p.dir });
      assert.equal(rebuilt.code, 0, rebuilt.stderr);
      const result = JSON.parse(rebuilt.stdout);
      assert.deepEqual(result.adopted.map((run: { taskId: string; runId: string; pid: number; token: boolean }) => [run.taskId, run.runId, run.pid, run.token]), [[live, runOf(live).id, runOf(live).pid, true]]);
      const settle = new Map(result.settle.map((run: { taskId: string; by: string }) => [run.taskId, run.by]));
      assert.match(settle.get(ended) as string, /exit 0/);
      assert.match(settle.get(killed) as string, /as lost/);
      const kept = keptFiles(p.dir);
      assert.equal(kept.length, 1);
      assert.match(kept[0], /^ledger\.json\.damaged-\d{4}-\d\d-\d\dT/);
      assert.equal(readFileSync(join(p.dir, '.dispatcher', kept[0]), 'utf8'), DAMAGED, 'the damaged file is kept as it was');
      const shown = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir })).stdout);
      assert.deepEqual(shown.running.map((run: { taskId: string }) => run.taskId).sort(), [ended, killed, live].sort());

      second = startDaemon(p.dir);
      const restarted = second;
      await waitFor(() => /adopted run/.test(restarted.output()), 20_000, 'the agent adopted');
      writeFileSync(join(p.dir, `go-${live}`), '0');
      await waitFor(() => {
        const board = readJson<Board>(p.board);
        return queueOf(board, live) === 'Done' && queueOf(board, ended) === 'Done' && queueOf(board, killed) === 'Failed';
      }, 30_000, 'every task settled');
      await waitFor(() => finishedRuns(p.dir).length === 3, 10_000, 'three runs in the history');
      restarted.child.kill('SIGTERM');
      assert.equal(await restarted.exited, 0, restarted.output());

      const board = readJson<Board>(p.board);
      assert.deepEqual(commentsOf(board, live), [`go-file: still here (run ${runOf(live).id})`], 'the agent commented with its token, and its outcome landed once');
      assert.deepEqual(commentsOf(board, ended), [], 'a quiet success, settled by its exit status');
      assert.equal(commentsOf(board, killed).length, 1);
      assert.match(commentsOf(board, killed)[0], /lost/i);
      assert.deepEqual(finishedRuns(p.dir).map((run) => [run.taskId, run.status]).sort(), [[ended, 'succeeded'], [killed, 'lost'], [live, 'succeeded']].sort());
    }
  });

  it('a missing ledger: a task in progress assigned to the dispatcher is settled as lost with a comment; a task nobody claimed is left alone', async () => {
    const [claimed, human] = [unique('claimed'), unique('human')];
    const p = project([], ROUTING);
    const board = readJson<Board>(p.board);
    board.queues['In Progress'].push({ ...task(claimed, 'claimed, agent gone'), assignees: ['dispatcher'] }, { ...task(human, 'a person works on it'), assignees: ['alice'] });
    writeFileSync(p.board, JSON.stringify(board));
    const rebuilt = await runCli(['ledger', 'rebuild'], { cwd: p.dir });
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stdout, /ledger .*ledger\.json: missing/);
    assert.match(rebuilt.stdout, /0 live agent\(s\) adopted/);
    assert.match(rebuilt.stdout, new RegExp(`1 in-progress task\\(s\\)[^\\n]*\\n  task ${claimed}\\tin "In Progress"\\tas lost`));
    assert.match(rebuilt.stdout, new RegExp(`left alone: task ${human}`));
    assert.deepEqual(keptFiles(p.dir), [], 'there was nothing to keep');

    const poll = await runCli(['poll-once'], { cwd: p.dir });
    assert.ok(poll.code === 0 || poll.code === 1, poll.stderr);
    const after = readJson<Board>(p.board);
    assert.equal(queueOf(after, claimed), 'Failed');
    assert.equal(commentsOf(after, claimed).length, 1);
    assert.match(commentsOf(after, claimed)[0], /lost[\s\S]*ledger was rebuilt/i);
    assert.equal(queueOf(after, human), 'In Progress');
    assert.deepEqual(commentsOf(after, human), []);
  });

  it('a ledger that is fine is replaced only with --force, and kept', async () => {
    const p = project([], ROUTING);
    const ledger = join(p.dir, '.dispatcher/ledger.json');
    assert.equal((await runCli(['poll-once'], { cwd: p.dir })).code, 0);
    const healthy = readFileSync(ledger, 'utf8');

    const refused = await runCli(['ledger', 'rebuild'], { cwd: p.dir });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is fine; nothing was changed \(--force/);
    const dry = await runCli(['ledger', 'rebuild', '--dry-run'], { cwd: p.dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /: fine\n[\s\S]*without --force it would not be replaced/);
    assert.equal(readFileSync(ledger, 'utf8'), healthy);
    assert.deepEqual(keptFiles(p.dir), []);

    const forced = await runCli(['ledger', 'rebuild', '--force'], { cwd: p.dir });
    assert.equal(forced.code, 0, forced.stderr);
    const [kept] = keptFiles(p.dir);
    assert.match(kept, /^ledger\.json\.replaced-/);
    assert.equal(readFileSync(join(p.dir, '.dispatcher', kept), 'utf8'), healthy);
    assert.deepEqual(readJson(ledger), { version: 1, runs: [], daemons: [] });
  });
});
