import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Task } from '../../adapters/types.ts';
import { compareByPriority, compareTaskIds, inDispatchOrder, priorityOf } from '../../src/core/dispatch/priority.ts';
import { PRIORITY } from './support.ts';

const task = (fields: Partial<Task>): Task => ({
  id: 'acme/app#1',
  name: 'x',
  description: '',
  queue: 'acme/app',
  labels: [],
  assignees: ['hans'],
  comments: [],
  url: '',
  createdAt: '2026-01-01T00:00:00Z',
  ...fields,
});

describe('priorityOf', () => {
  it('reads labels case-insensitively, scoped labels included', () => {
    assert.equal(priorityOf(task({ labels: ['bug', 'CRITICAL'] }), PRIORITY), 'CRITICAL');
    assert.equal(priorityOf(task({ labels: ['P1'] }), PRIORITY), 'HIGH');
    assert.equal(priorityOf(task({ labels: ['priority/low'] }), PRIORITY), 'LOW');
  });

  it('reads title prefixes: `X:`, `[X]` and `(X)`', () => {
    assert.equal(priorityOf(task({ name: 'CRITICAL: silent DB errors' }), PRIORITY), 'CRITICAL');
    assert.equal(priorityOf(task({ name: '[HIGH] slow dashboard' }), PRIORITY), 'HIGH');
    assert.equal(priorityOf(task({ name: '(low) docs typo' }), PRIORITY), 'LOW');
    assert.equal(priorityOf(task({ name: 'Fix: not a priority' }), PRIORITY), 'NORMAL');
    assert.equal(priorityOf(task({ name: 'Mentions CRITICAL later' }), PRIORITY), 'NORMAL');
  });

  it('takes the most urgent signal and defaults to NORMAL', () => {
    assert.equal(priorityOf(task({ name: 'LOW: x', labels: ['high'] }), PRIORITY), 'HIGH');
    assert.equal(priorityOf(task({ name: 'CRITICAL: x', labels: ['low'] }), PRIORITY), 'CRITICAL');
    assert.equal(priorityOf(task({ labels: ['bug'] }), PRIORITY), 'NORMAL');
    assert.equal(priorityOf(task({ priority: 0 }), PRIORITY), 'CRITICAL');
  });

  it('follows a custom mapping', () => {
    const mapping = { ...PRIORITY, CRITICAL: ['sev1'], HIGH: ['sev2'] };
    assert.equal(priorityOf(task({ labels: ['sev1'] }), mapping), 'CRITICAL');
    assert.equal(priorityOf(task({ labels: ['critical'] }), mapping), 'NORMAL');
  });
});

describe('dispatch order', () => {
  it('goes CRITICAL → HIGH → NORMAL → LOW, then oldest first, then id with numbers as numbers', () => {
    const items = [
      { id: 'acme/app#10', name: 'LOW: a', createdAt: '2026-01-01T00:00:00Z' },
      { id: 'acme/app#11', name: 'normal old', createdAt: '2025-01-01T00:00:00Z' },
      { id: 'acme/app#9', name: 'normal same time', createdAt: '2026-02-01T00:00:00Z' },
      { id: 'acme/app#10', name: 'normal same time 2', createdAt: '2026-02-01T00:00:00Z' },
      { id: 'acme/app#3', name: 'HIGH: b', createdAt: '2026-03-01T00:00:00Z' },
      { id: 'acme/app#4', name: 'CRITICAL: c', createdAt: '2026-04-01T00:00:00Z' },
      { id: 'acme/app#5', name: 'normal, offset time', createdAt: '2026-02-01T00:30:00+01:00' },
    ].map((fields) => {
      const item = task(fields);
      return { task: item, priority: priorityOf(item, PRIORITY) };
    });
    const order = [...items].sort(compareByPriority).map((item) => item.task.name);
    assert.deepEqual(order, ['CRITICAL: c', 'HIGH: b', 'normal old', 'normal, offset time', 'normal same time', 'normal same time 2', 'LOW: a']);
  });

  it('is the same order when each task\'s keys are worked out once (inDispatchOrder, the router\'s)', () => {
    const fields: Array<Partial<Task>> = [
      { id: 'acme/app#10', name: 'LOW: a' },
      { id: 'acme/app#9', name: 'tie' },
      { id: 'acme/app#10', name: 'tie 2' },
      { id: 'acme/web#2', name: 'other repository' },
      { id: '12', name: 'number, no time', createdAt: '' },
      { id: '9', name: 'shorter number, no time', createdAt: '' },
      { id: '0012', name: 'leading zeros, no time', createdAt: '' },
      { id: 'abc', name: 'text id, no time', createdAt: '' },
      { id: '3', name: 'HIGH: b', createdAt: 'not a date' },
      { id: '4', name: 'adapter says critical', priority: 0 },
      { id: 'acme/app#1', name: 'older', createdAt: '2025-06-01T00:00:00Z' },
    ];
    const tasks = fields.map(task);
    const byComparison = tasks.map((item) => ({ task: item, priority: priorityOf(item, PRIORITY) })).sort(compareByPriority);
    const byKeys = inDispatchOrder(tasks, PRIORITY);
    assert.deepEqual(byKeys.map((item) => item.task.name), byComparison.map((item) => item.task.name));
    assert.deepEqual(byKeys.map((item) => item.priority), byComparison.map((item) => item.priority));
    assert.deepEqual(byKeys.map((item) => item.task.name), [
      'adapter says critical',
      'HIGH: b',
      'older',
      'tie',
      'tie 2',
      'other repository',
      'shorter number, no time',
      'number, no time',
      'leading zeros, no time',
      'text id, no time',
      'LOW: a',
    ]);
  });

  it('compares ids: numbers as numbers, an issue number within its repository', () => {
    assert.ok(compareTaskIds('acme/app#9', 'acme/app#10') < 0);
    assert.ok(compareTaskIds('9', '10') < 0);
    assert.ok(compareTaskIds('10', '10') === 0);
    assert.ok(compareTaskIds('12345678901234567890', '12345678901234567891') < 0);
    assert.ok(compareTaskIds('acme/app#10', 'acme/web#2') < 0, 'other repositories compare as text');
    assert.ok(compareTaskIds('abc', '9') > 0);
  });
});
