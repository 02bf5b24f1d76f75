import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createRouter } from '../../src/core/dispatch/router.ts';
import { buildStatus } from '../../src/core/runs/status.ts';
import { createLogger } from '../../src/log.ts';
import { waitFor } from '../helpers.ts';
import { AGENTS, node, setupBoard, task } from './support.ts';

/** Mounts a small tmpfs at `dir`; says why when this machine cannot (CI runs as root, and can). */
function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs the suite as root)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

/** Writes until the file system is full; returns the file to delete to free it. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

describe('a full state_dir while a run ends', () => {
  it('keeps trying to record the outcome; once space returns the run settles with its real outcome, its slot frees and the comment lands', async (t) => {
    const s0 = setupBoard({ Todo: [], 'In Progress': [], Failed: [] }, {});
    const state = join(s0.dir, 'state');
    mkdirSync(state);
    const cannot = mountTmpfs(state, '1m');
    if (cannot) return t.skip(`needs a tmpfs of its own: ${cannot}`);
    try {
      const go = join(s0.dir, 'go');
      // Task 2's agent succeeds silently: its run owes the tracker nothing and goes straight to the history.
      const quiet = `const go = process.argv[1]; setInterval(() => require('node:fs').existsSync(go) && process.exit(0), 50);`;
      const s = setupBoard({ Todo: [task('1', 'Fix it')], Quiet: [task('2', 'Say nothing')], 'In Progress': [], Failed: [] }, {
        state_dir: state,
        routing: {
          Todo: { command: node, args: [join(AGENTS, 'wait-for-file.mjs'), go, '3'], in_progress_queue: 'In Progress', on_failure_queue: 'Failed' },
          Quiet: { command: node, args: ['-e', quiet, go], in_progress_queue: 'In Progress' },
        },
      });
      const lines: string[] = [];
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
      const router = createRouter({ config: s.config, tracker: s.tracker, ledger: s.ledger, log: createLogger({ format: 'plain', stream }), baseEnv: process.env });
      assert.equal((await router.tick()).dispatched.length, 2);
      await waitFor(async () => (await s.ledger.read()).runs.filter((run) => run.status === 'running' && run.startTicks).length === 2, 5_000, 'the agents recorded as running');

      const filler = fill(state);
      writeFileSync(go, '');
      await waitFor(() => lines.some((line) => /could not record the outcome of run .* \(task 1: failed \(exit 3\)\); it keeps its slot, retrying in 1s: .*ENOSPC/.test(line)), 10_000, 'the failed write in the log');
      const stored = JSON.parse(readFileSync(join(state, 'ledger.json'), 'utf8'));
      assert.deepEqual(stored.runs.map((run: { status: string }) => run.status), ['running', 'running'], 'nothing recorded while the disk is full');
      assert.equal(s.tracker && (await s.tracker.getTask('1')).comments.length, 0, 'and nothing told the tracker before the outbox was written');

      rmSync(filler);
      const settledRuns = await router.waitForAll();
      const settled = settledRuns.find((run) => run.taskId === '1')!;
      assert.equal(settled.status, 'failed');
      assert.equal(settledRuns.find((run) => run.taskId === '2')?.status, 'succeeded');
      assert.equal(settled.exitCode, 3, 'its real outcome');
      const task1 = await s.tracker.getTask('1');
      assert.equal(task1.queue, 'Failed');
      assert.equal(task1.comments.length, 1);
      assert.match(task1.comments[0].text, /Agent failed \(exit 3\)/);
      const status = buildStatus(await s.ledger.read(), s.config);
      assert.equal(status.slots.used, 0, 'the slots are free');
      assert.deepEqual(JSON.parse(readFileSync(join(state, 'ledger.json'), 'utf8')).runs, [], 'and the ledger on disk agrees');
      const historyLines = readFileSync(join(state, 'runs.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(historyLines.map((run: { taskId: string; status: string }) => `${run.taskId} ${run.status}`).sort(), ['1 failed', '2 succeeded']);
      assert.equal(status.trackerWrites.pending, 0);
      await router.outbox.close();
    } finally {
      execFileSync('umount', ['-l', state]);
    }
  });
});
