import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterError } from '../../src/errors.ts';
import type { TrackerAdapter } from '../../adapters/types.ts';

/** What a backend under test provides. Every tracker adapter must pass {@link runConformance}. */
export interface ConformanceTarget {
  adapter: TrackerAdapter;
  /** Three existing queues: [ready, in progress, done]. */
  queues: [string, string, string];
  /** A well-formed id that names no task. */
  missingId: string;
  /** Label names the tracker knows (may be empty when labels are free text). */
  labels: string[];
  /** A queue name that does not exist. */
  missingQueue: string;
  close(): Promise<void>;
}

async function rejectsWithKind(promise: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AdapterError, `expected an AdapterError, got ${String(error)}`);
    assert.equal(error.kind, kind, `expected kind ${kind}, got ${error.kind}: ${error.message}`);
    return true;
  });
}

export function runConformance(name: string, setup: () => Promise<ConformanceTarget>): void {
  describe(`tracker conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let adapter: TrackerAdapter;
    before(async () => {
      target = await setup();
      adapter = target.adapter;
    });
    after(async () => {
      await adapter?.close?.();
      await target?.close();
    });

    it('creates a task and reads it back with string ids', async () => {
      const [ready] = target.queues;
      const created = await adapter.createTask(ready, 'Fix the crash', 'It crashes on start.');
      assert.equal(typeof created.id, 'string');
      assert.equal(created.name, 'Fix the crash');
      assert.equal(created.queue, ready);
      const read = await adapter.getTask(created.id);
      assert.equal(read.id, created.id);
      assert.equal(read.name, 'Fix the crash');
      assert.equal(read.description, 'It crashes on start.');
      assert.equal(read.queue, ready);
      assert.ok(Array.isArray(read.labels) && Array.isArray(read.assignees) && Array.isArray(read.comments));
      assert.equal(typeof read.url, 'string');
    });

    it('gives every new task its own id', async () => {
      const [ready] = target.queues;
      const a = await adapter.createTask(ready, 'one', '');
      const b = await adapter.createTask(ready, 'two', '');
      assert.notEqual(a.id, b.id);
    });

    it('lists ready tasks per queue and moves tasks between queues', async () => {
      const [ready, inProgress] = target.queues;
      const task = await adapter.createTask(ready, 'Movable', 'x');
      const before = await adapter.getReadyTasks([ready]);
      const found = before.find((t) => t.id === task.id);
      assert.ok(found, 'new task is among the ready tasks');
      assert.equal(found.queue, ready);
      await adapter.moveTask(task.id, inProgress);
      assert.equal((await adapter.getTask(task.id)).queue, inProgress);
      assert.ok(!(await adapter.getReadyTasks([ready])).some((t) => t.id === task.id));
      const both = await adapter.getReadyTasks([ready, inProgress]);
      assert.equal(both.find((t) => t.id === task.id)?.queue, inProgress);
    });

    it('adds comments that getTask returns in order', async () => {
      const [ready] = target.queues;
      const task = await adapter.createTask(ready, 'Commented', '');
      await adapter.addComment(task.id, 'first comment');
      await adapter.addComment(task.id, 'second: `code` & <b>');
      const texts = (await adapter.getTask(task.id)).comments.map((c) => c.text);
      assert.deepEqual(texts.slice(-2), ['first comment', 'second: `code` & <b>']);
    });

    it('updates name and description', async () => {
      const [ready] = target.queues;
      const task = await adapter.createTask(ready, 'Old name', 'old');
      await adapter.updateTask(task.id, { name: 'New name', description: 'new body' });
      const read = await adapter.getTask(task.id);
      assert.equal(read.name, 'New name');
      assert.equal(read.description, 'new body');
    });

    it('sets labels and assignees, and assigns its own identity', async () => {
      const [ready] = target.queues;
      const task = await adapter.createTask(ready, 'Labelled', '');
      const me = await adapter.whoami();
      assert.equal(typeof me, 'string');
      assert.ok(me.length > 0);
      const labels = target.labels.slice(0, 1);
      await adapter.updateTask(task.id, { labels, assignees: [me] });
      const read = await adapter.getTask(task.id);
      assert.deepEqual(read.assignees, [me]);
      for (const label of labels) assert.ok(read.labels.includes(label), `label ${label} set`);
      await adapter.updateTask(task.id, { assignees: [] });
      assert.deepEqual((await adapter.getTask(task.id)).assignees, []);
    });

    it('says not_found for unknown tasks and queues', async () => {
      const [ready] = target.queues;
      await rejectsWithKind(adapter.getTask(target.missingId), 'not_found');
      await rejectsWithKind(adapter.addComment(target.missingId, 'hello'), 'not_found');
      await rejectsWithKind(adapter.moveTask(target.missingId, ready), 'not_found');
      const task = await adapter.createTask(ready, 'Stays', '');
      await rejectsWithKind(adapter.moveTask(task.id, target.missingQueue), 'not_found');
      assert.equal((await adapter.getTask(task.id)).queue, ready);
      await rejectsWithKind(adapter.createTask(target.missingQueue, 'x', ''), 'not_found');
      await rejectsWithKind(adapter.getReadyTasks([target.missingQueue]), 'not_found');
    });

    it('names the queue that cannot be resolved, so that only the routes using it pause', async () => {
      const [ready] = target.queues;
      const named = (error: unknown) => (assert.ok(error instanceof AdapterError), assert.equal(error.queue, target.missingQueue, error.message), true);
      await assert.rejects(adapter.getReadyTasks([ready, target.missingQueue]), named);
      const task = await adapter.createTask(ready, 'Goes nowhere', '');
      await assert.rejects(adapter.moveTask(task.id, target.missingQueue), named);
      await assert.rejects(adapter.getTask(target.missingId), (error: unknown) => (assert.ok(error instanceof AdapterError), assert.equal(error.queue, undefined), true));
    });
  });
}
