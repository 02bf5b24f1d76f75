import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findRunGroup, isProcessGroupAlive, killProcessGroup, processStartTicks } from '../../src/core/process/spawner.ts';
import type { LedgerData, RunRecord } from '../../src/core/runs/ledger.ts';
import { FileLedger } from '../../src/core/runs/ledger.ts';
import { tempDir } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from './support.ts';

const groups: number[] = [];
after(() => {
  for (const pgid of groups) killProcessGroup(pgid, 'SIGKILL');
});

/** A sleeper in a group of its own carrying `runId`, as the dispatcher starts agents. */
function startAgentOf(runId: string, seconds = 60): number {
  const child = spawn(process.execPath, [join(AGENTS, 'sleeper.mjs'), String(seconds)], { detached: true, stdio: 'ignore', env: { ...process.env, DISPATCHER_RUN_ID: runId } });
  child.unref();
  groups.push(child.pid!);
  return child.pid!;
}

const ledgerOnDisk = (ledger: FileLedger) => JSON.parse(readFileSync(ledger.file, 'utf8')) as LedgerData;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Run ids are looked for machine-wide (/proc): unique per test run, so parallel runs never see each other's agents. */
const unique = (name: string) => `${name}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

describe('an agent whose pid never reached the ledger', () => {
  it('is found by the DISPATCHER_RUN_ID in its environment, and only by the whole id', () => {
    const runId = unique('run-abc');
    const pid = startAgentOf(runId);
    const found = findRunGroup(runId);
    assert.equal(found?.pid, pid);
    assert.equal(found?.pgid, pid);
    assert.match(found!.startTicks, /^\d+$/);
    assert.equal(findRunGroup(runId.slice(0, -1)), undefined);
    assert.equal(findRunGroup(unique('nobody-has-this-run-id')), undefined);
  });

  it('is adopted after a crash (not settled as lost), and its deadline enforced', async () => {
    const { router, ledger, config } = setupBoard({ Todo: [], 'In Progress': [task('7', 'crashed mid-start', { assignees: ['dispatcher'] })] }, { routing: { Todo: { command: 'true', in_progress_queue: 'In Progress', timeout: 2 } } });
    const runId = unique('crash-run');
    const createdAt = new Date().toISOString();
    // What a dispatcher killed between the spawn and its pid reaching the ledger leaves behind.
    await ledger.update((data) => {
      data.runs.push({ id: runId, taskId: '7', taskName: 'crashed mid-start', taskUrl: '', route: 'Todo', inProgressQueue: 'In Progress', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', owner: { pid: 2 ** 22 + 7, instance: 'gone' }, createdAt });
    });
    const pid = startAgentOf(runId);

    await router.tick();
    const adopted = ledgerOnDisk(ledger).runs.find((run) => run.id === runId)!;
    assert.equal(adopted.status, 'running');
    assert.equal(adopted.pid, pid);
    assert.equal(adopted.pgid, pid);
    assert.equal(adopted.deadline, Date.parse(createdAt) + 2000);
    assert.equal(adopted.logFile, join(config.stateDir, 'runs', `${runId}.log`));

    const [settled] = await router.waitForAll();
    assert.equal(settled.status, 'timed_out');
    assert.equal(isProcessGroupAlive(pid), false);
  });

  it('is settled as lost, with a comment, when its task was claimed but no process carries its run id', async () => {
    const { router, ledger, tracker } = setupBoard({ Todo: [], 'In Progress': [task('8')] }, { routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } } });
    const neverStarted = unique('never-started');
    await ledger.update((data) => {
      data.runs.push({ id: neverStarted, taskId: '8', taskName: 'task 8', taskUrl: '', route: 'Todo', inProgressQueue: 'In Progress', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', owner: { pid: 2 ** 22 + 8, instance: 'gone' }, createdAt: new Date().toISOString() });
    });
    await router.tick();
    await router.waitForAll();
    const run = (await ledger.read()).runs.find((candidate) => candidate.id === neverStarted)!;
    assert.equal(run.status, 'lost');
    assert.match((await tracker.getTask('8')).comments.at(-1)?.text ?? '', /stopped before the agent started/);
  });

  it('is dropped quietly when its task was never claimed, and the task is dispatched as usual', async () => {
    const { router, ledger, tracker } = setupBoard({ Todo: [task('9')], 'In Progress': [] }, { routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } } });
    const neverClaimed = unique('never-claimed');
    await ledger.update((data) => {
      data.runs.push({ id: neverClaimed, taskId: '9', taskName: 'task 9', taskUrl: '', route: 'Todo', inProgressQueue: 'In Progress', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', owner: { pid: 2 ** 22 + 9, instance: 'gone' }, createdAt: new Date().toISOString() });
    });
    const { dispatched } = await router.tick();
    await router.waitForAll();
    const runs = (await ledger.read()).runs.filter((candidate) => candidate.taskId === '9');
    assert.equal(runs.find((candidate) => candidate.id === neverClaimed)!.status, 'claim_failed');
    assert.deepEqual(dispatched.map((run) => run.taskId), ['9'], 'dispatched in the same tick');
    assert.equal(runs.find((candidate) => candidate.id !== neverClaimed)!.status, 'succeeded');
    assert.deepEqual((await tracker.getTask('9')).comments, [], 'no comment about a run that never touched the task');
  });
});

describe('the kernel start time of an agent (against pid reuse)', () => {
  it('reaches the ledger a moment after the start while the agent runs, and is its own', async () => {
    const { router, ledger } = setupBoard({ Todo: [task('1')], 'In Progress': [] }, { routing: { Todo: { command: node, args: [join(AGENTS, 'sleeper.mjs'), '2'], in_progress_queue: 'In Progress' } } });
    const [run] = (await router.tick()).dispatched;
    groups.push(run.pgid!);
    await sleep(400);
    const onDisk = ledgerOnDisk(ledger).runs.find((candidate) => candidate.id === run.id)!;
    assert.equal(onDisk.pid, run.pid);
    assert.match(onDisk.startTicks ?? '', /^\d+$/);
    assert.equal(onDisk.startTicks, processStartTicks(run.pid!));
    await router.stopAll('test over');
  });
});

describe('Ledger.patchSoon', () => {
  const active = (id: string): RunRecord => ({ id, taskId: id, taskName: id, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', createdAt: new Date().toISOString() });

  it('writes within a moment by itself, and rides along with a write that comes first', async () => {
    const ledger = new FileLedger(tempDir());
    await ledger.update((data) => void data.runs.push(active('a'), active('b')));

    ledger.patchSoon('a', { status: 'running', pid: 4242 });
    assert.equal(ledgerOnDisk(ledger).runs.find((run) => run.id === 'a')!.pid, undefined, 'not written at once');
    await sleep(300);
    assert.equal(ledgerOnDisk(ledger).runs.find((run) => run.id === 'a')!.pid, 4242, 'written within a moment');

    ledger.patchSoon('b', { status: 'running', pid: 4343 });
    await ledger.update((data) => void (data.lastPollAt = 'now'));
    const onDisk = ledgerOnDisk(ledger);
    assert.equal(onDisk.runs.find((run) => run.id === 'b')!.pid, 4343, 'carried by the next write');
    assert.equal(onDisk.lastPollAt, 'now');
  });

  it('never brings a finished run back to life', async () => {
    const ledger = new FileLedger(tempDir());
    await ledger.update((data) => void data.runs.push(active('c')));
    ledger.patchSoon('c', { status: 'running', pid: 4444 });
    await ledger.update((data) => void Object.assign(data.runs.find((run) => run.id === 'c')!, { status: 'succeeded' }));
    await sleep(200);
    const run = (await ledger.read()).runs.find((candidate) => candidate.id === 'c')!;
    assert.equal(run.status, 'succeeded');
  });
});

describe('Ledger.update', () => {
  const active = (id: string): RunRecord => ({ id, taskId: id, taskName: id, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'starting', createdAt: new Date().toISOString() });

  it('applies a burst of changes in order; each caller gets its own result, and a change that throws fails alone', async () => {
    const ledger = new FileLedger(tempDir());
    await ledger.update((data) => void data.runs.push(active('a')));
    const results = await Promise.allSettled([
      ledger.update((data) => data.runs.push(active('b'))),
      ledger.update(() => {
        throw new Error('no such run');
      }),
      ledger.update((data) => data.runs.map((run) => run.id).join(',')),
    ]);
    assert.deepEqual(results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).message)), [2, 'no such run', 'a,b']);
    assert.deepEqual(ledgerOnDisk(ledger).runs.map((run) => run.id), ['a', 'b']);
  });

  it('fails every change of a write that fails, and takes the next changes in a write of their own', async () => {
    const dir = tempDir();
    const ledger = new FileLedger(dir);
    await ledger.update((data) => void data.runs.push(active('a')));
    writeFileSync(join(dir, 'ledger.json'), '{ not json');
    const failed = await Promise.allSettled([ledger.update(() => 1), ledger.update(() => 2)]);
    assert.deepEqual(failed.map((result) => result.status), ['rejected', 'rejected']);
    assert.match(String((failed[0] as PromiseRejectedResult).reason), /not valid JSON/);
    writeFileSync(join(dir, 'ledger.json'), JSON.stringify({ version: 1, runs: [], daemons: [] }));
    assert.equal(await ledger.update((data) => data.runs.length), 0);
  });
});

