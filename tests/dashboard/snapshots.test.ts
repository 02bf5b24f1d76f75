import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/log.ts';
import { buildRunState, RECENT_RUNS } from '../../src/api/dashboard/run-snapshot.ts';
import { buildDispatchFileState } from '../../src/api/dashboard/dispatch-file-snapshot.ts';
import { createLogTail } from '../../src/api/dashboard/log-tail.ts';
import { safeLink, trackerWhere } from '../../src/api/dashboard/task-view.ts';
import type { LedgerData, RunRecord } from '../../src/core/runs/ledger.ts';
import { createDispatchState } from '../../src/core/dispatch-file/state.ts';
import type { Config } from '../../src/config/types.ts';
import { registerSecret } from '../../src/util/redact.ts';

const NOW = Date.parse('2026-04-09T12:00:00.000Z');
import { DEFAULT_PRIORITY } from '../../src/config/load.ts';

const config: Pick<Config, 'maxConcurrentAgents' | 'pollIntervalMs' | 'backend' | 'routes' | 'dispatchFile' | 'priority'> = {
  maxConcurrentAgents: 2,
  priority: DEFAULT_PRIORITY,
  pollIntervalMs: 30_000,
  backend: { type: 'json', url: '/srv/boards/team.json' },
  routes: [
    { queue: 'Todo', command: '/usr/local/bin/agent', args: [], env: {}, maxAttempts: 3, agent: 'command', structuredOutput: true },
    { queue: 'Review', command: 'claude', args: [], env: {}, maxAttempts: 1, agent: 'claude', structuredOutput: true },
  ],
};
const health = { lastPollAt: '2026-04-09T11:59:50.000Z', lastPollError: undefined, consecutiveFailures: 0, nextFetchAt: 0 };

function run(id: string, fields: Partial<RunRecord>): RunRecord {
  return { id, taskId: id, taskName: `task ${id}`, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 3, status: 'succeeded', createdAt: '2026-04-09T10:00:00.000Z', ...fields };
}

function ledger(runs: RunRecord[]): LedgerData {
  return { version: 1, runs, daemons: [] };
}

describe('the run snapshot', () => {
  it('shows running agents with elapsed time, deadline and pid; priorities from title prefixes', () => {
    const state = buildRunState(
      ledger([
        run('a', { taskName: '[HIGH] fix the login', status: 'running', pid: 101, startedAt: '2026-04-09T11:58:00.000Z', deadline: NOW + 60_000 }),
        run('b', { taskName: 'p0: prod is down', status: 'starting' }),
      ]),
      { config, health, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: NOW },
    );
    assert.deepEqual(
      state.running.map((item) => [item.runId, item.priority, item.status, item.elapsedMs, item.deadline, item.pid]),
      [
        ['a', 'HIGH', 'running', 120_000, '2026-04-09T12:01:00.000Z', 101],
        ['b', 'CRITICAL', 'starting', undefined, undefined, undefined],
      ],
    );
    assert.deepEqual(state.slots, { max: 2, used: 2, free: 0 });
    assert.equal(state.uptimeMs, 3_600_000);
    assert.equal(state.tracker.status, 'ok');
    assert.equal(state.tracker.where, 'team.json');
    assert.equal(state.tracker.nextPollAt, '2026-04-09T12:00:20.000Z');
  });

  it('lists finished runs newest first, at most 100, with outcome and duration', () => {
    const runs = Array.from({ length: 150 }, (_, index) =>
      run(`r${index}`, { status: index % 3 === 0 ? 'failed' : 'succeeded', outcome: index % 3 === 0 ? 'exit 1' : undefined, startedAt: new Date(NOW - 1_000_000 + index * 1_000).toISOString(), endedAt: new Date(NOW - 1_000_000 + index * 1_000 + 500).toISOString() }),
    );
    const state = buildRunState(ledger(runs), { config, health, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: NOW });
    assert.equal(state.recent.length, RECENT_RUNS);
    assert.equal(state.recent[0].id, 'r149');
    assert.equal(state.recent[0].durationMs, 500);
    assert.equal(state.recent.find((item) => item.id === 'r147')?.outcome, 'exit 1');
    assert.equal(state.recent.find((item) => item.id === 'r148')?.outcome, 'succeeded');
    assert.deepEqual(state.totals, { running: 0, succeeded: 100, needs_attention: 0, failed: 50, stopped: 0, retrying: 0 });
  });

  it('groups by route, idle configured routes included, and shows retries and backoff', () => {
    const state = buildRunState(
      ledger([
        run('a', { status: 'retry_wait', nextAttemptAt: NOW + 5_000, outcome: 'exit 2' }),
        run('b', { status: 'timed_out', route: 'Old queue' }),
        run('c', { status: 'needs_attention', route: 'Review', agent: 'claude', outcome: 'needs attention: denied Bash' }),
      ]),
      { config, health: { ...health, consecutiveFailures: 2, lastPollError: 'connect ECONNREFUSED', nextFetchAt: NOW + 8_000 }, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: NOW },
    );
    assert.deepEqual(
      state.groups.rows.map((row) => [row.name, row.note, row.counts]),
      [
        ['Todo', 'agent', { running: 0, retrying: 1, succeeded: 0, needs_attention: 0, failed: 0 }],
        ['Review', 'claude', { running: 0, retrying: 0, succeeded: 0, needs_attention: 1, failed: 0 }],
        ['Old queue', 'command', { running: 0, retrying: 0, succeeded: 0, needs_attention: 0, failed: 1 }],
      ],
    );
    assert.equal(state.totals.needs_attention, 1, 'a run that needs attention has a counter of its own');
    assert.equal(state.recent.find((item) => item.id === 'c')?.outcome, 'needs attention: denied Bash');
    assert.equal(state.waiting[0].nextAttemptAt, '2026-04-09T12:00:05.000Z');
    assert.equal(state.tracker.status, 'down');
    assert.equal(state.tracker.backoffUntil, '2026-04-09T12:00:08.000Z');
    assert.equal(state.tracker.lastError, 'connect ECONNREFUSED');
  });

  it('shows tracker writes pending after runs ended, when the next try is due, and which runs still owe them', () => {
    const data: LedgerData = {
      ...ledger([run('a', { status: 'succeeded', endedAt: '2026-04-09T11:59:00.000Z', trackerWrites: 'pending' }), run('b', { status: 'failed', endedAt: '2026-04-09T11:58:00.000Z', trackerWrites: 'done' })]),
      outbox: [
        { id: 'a/0', runId: 'a', taskId: 'a', change: { kind: 'comment', text: 'done' }, queuedAt: NOW - 60_000, tries: 3, nextTryAt: NOW + 8_000, lastError: 'Planka unreachable (POST /api/cards/a/comments): connect ECONNREFUSED' },
        { id: 'a/1', runId: 'a', taskId: 'a', change: { kind: 'move', from: 'Doing', to: 'Done' }, queuedAt: NOW - 60_000, tries: 0, nextTryAt: NOW + 9_000 },
      ],
    };
    const state = buildRunState(data, { config, health, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: NOW });
    assert.equal(state.tracker.writesPending, 2);
    assert.equal(state.tracker.writesNextTryAt, '2026-04-09T12:00:08.000Z');
    assert.match(state.tracker.writesLastError ?? '', /ECONNREFUSED/);
    assert.deepEqual(state.recent.map((item) => [item.id, item.trackerWrites]), [['a', 'pending'], ['b', 'done']]);
    const idle = buildRunState(ledger([]), { config, health, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: NOW });
    assert.equal(idle.tracker.writesPending, undefined);
  });

  it('keeps secrets out: links only http(s) without credentials, registered secrets redacted', () => {
    registerSecret('s3cr3t-token-value');
    assert.equal(safeLink('javascript:alert(1)'), '');
    assert.equal(safeLink('data:text/html,<b>'), '');
    assert.equal(safeLink('https://user:pw@git.example.com/o/r/issues/1'), 'https://git.example.com/o/r/issues/1');
    assert.equal(trackerWhere('gitea', 'https://bot:pw@git.example.com:3000'), 'git.example.com:3000');
    const state = buildRunState(ledger([run('a', { status: 'failed', outcome: 'tracker said s3cr3t-token-value', taskUrl: 'https://git.example.com/issues/1?token=abc' })]), {
      config,
      health,
      instance: 'i',
      startedAt: '2026-04-09T11:00:00.000Z',
      now: NOW,
    });
    assert.equal(state.recent[0].outcome, 'tracker said [redacted]');
    assert.doesNotMatch(state.recent[0].url, /abc/);
  });
});

describe('the dispatch-file snapshot', () => {
  it('shows recent dispatches with priorities, assignees, rate limit and tracker health', () => {
    const store = createDispatchState({ mode: 'loop', repos: ['acme/api'], tasksDir: '/srv/tasks', intervalMs: 60_000, startedAt: '2026-04-09T11:00:00.000Z' });
    store.recordDispatch({ at: '2026-04-09T11:59:00.000Z', assignee: 'hans', taskId: 'acme/api#2', title: 'CRITICAL: silent DB errors', priority: 'CRITICAL', url: 'https://git.example.com/acme/api/issues/2', file: '/srv/tasks/hans/issue-2.md' });
    store.update((draft) => {
      draft.assignees = { hans: { files: 1, waiting: 2 }, eva: { files: 3, waiting: 0 } };
      draft.rateLimit = { ratePerMinute: 1, capacity: 1, windowMs: 60_000, available: 0, nextSlotAt: '2026-04-09T12:00:00.000Z' };
      draft.tracker = { status: 'degraded', consecutiveFailures: 0, lastError: 'acme/web: 404' };
      draft.lastPollAt = '2026-04-09T11:59:00.000Z';
      draft.nextPollAt = '2026-04-09T12:00:00.000Z';
      draft.totals = { cycles: 4, dispatched: 1, skipped: 2, errors: 0 };
    });
    const state = buildDispatchFileState(store.get(), { trackerType: 'gitea', instance: 'i', now: NOW });
    assert.equal(state.mode, 'dispatch-file');
    assert.equal(state.detail, 'loop');
    assert.deepEqual(state.recent.map((item) => [item.taskId, item.priority, item.who, item.status, item.outcome, item.url]), [
      ['acme/api#2', 'CRITICAL', 'hans', 'dispatched', 'wrote hans/issue-2.md', 'https://git.example.com/acme/api/issues/2'],
    ]);
    assert.deepEqual(state.groups, {
      by: 'assignee',
      columns: ['files', 'waiting', 'dispatched', 'stale'],
      rows: [
        { name: 'eva', counts: { files: 3, waiting: 0, dispatched: 0, stale: 0 } },
        { name: 'hans', counts: { files: 1, waiting: 2, dispatched: 1, stale: 0 } },
      ],
    });
    assert.deepEqual(state.rateLimit, { perMinute: 1, capacity: 1, available: 0, nextSlotAt: '2026-04-09T12:00:00.000Z' });
    assert.equal(state.tracker.status, 'degraded');
    assert.equal(state.tracker.where, 'acme/api');
    assert.deepEqual(state.totals, { cycles: 4, dispatched: 1, skipped: 2, errors: 0 });
    assert.deepEqual(state.running, []);
  });
});

describe('the log tail', () => {
  it('keeps the last lines in order, numbered, and cuts very long ones', () => {
    const tail = createLogTail({ limit: 3 });
    const seen: number[] = [];
    tail.subscribe((line) => seen.push(line.seq));
    for (let index = 1; index <= 5; index++) tail.push({ time: 't', level: 'info', message: `line ${index}` });
    assert.deepEqual(tail.lines().map((line) => [line.seq, line.message]), [
      [3, 'line 3'],
      [4, 'line 4'],
      [5, 'line 5'],
    ]);
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    tail.push({ time: 't', level: 'info', message: 'x'.repeat(10_000) });
    assert.ok(tail.lines()[2].message.length < 4_100);
  });

  it('takes records from a logger at info and above unless asked for debug', () => {
    const log = createLogger({ format: 'plain', level: 'error', stream: new PassThrough() });
    const tail = createLogTail();
    const debugTail = createLogTail();
    tail.attach(log);
    debugTail.attach(log, 'debug');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) log[level](level);
    assert.deepEqual(tail.lines().map((line) => line.message), ['info', 'warn', 'error']);
    assert.deepEqual(debugTail.lines().map((line) => line.message), ['debug', 'info', 'warn', 'error']);
    tail.detach();
    debugTail.detach();
    log.info('after');
    assert.equal(tail.lines().length, 3, 'detached: nothing more arrives');
  });
});
