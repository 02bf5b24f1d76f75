import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildRunState } from '../../src/api/dashboard/run-snapshot.ts';
import { renderStatus } from '../../src/commands/status.ts';
import { DEFAULT_PRIORITY } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { BrokenRoute, LedgerData } from '../../src/core/runs/ledger.ts';
import { buildStatus } from '../../src/core/runs/status.ts';

const config: Pick<Config, 'maxConcurrentAgents' | 'pollIntervalMs' | 'backend' | 'routes' | 'dispatchFile' | 'priority'> = {
  maxConcurrentAgents: 2,
  priority: DEFAULT_PRIORITY,
  pollIntervalMs: 30_000,
  backend: { type: 'planka', url: 'https://planka.example.com' },
  routes: [
    { queue: 'P.One.Todo', inProgressQueue: 'P.One.Doing', command: 'agent', args: [], env: {}, maxAttempts: 1, agent: 'command', structuredOutput: true },
    { queue: 'P.Two.Todo', inProgressQueue: 'P.Two.Doing', command: 'agent', args: [], env: {}, maxAttempts: 1, agent: 'command', structuredOutput: true },
  ],
};
const broken: BrokenRoute = { route: 'P.One.Todo', queue: 'P.One.Todo', reason: 'no Planka list is named exactly "P.One.Todo"', since: '2026-04-09T11:00:00.000Z' };
const ledger = (brokenRoutes?: BrokenRoute[]): LedgerData => ({ version: 1, runs: [], daemons: [], lastPollAt: '2026-04-09T11:59:50.000Z', brokenRoutes });
const health = { lastPollAt: '2026-04-09T11:59:50.000Z', consecutiveFailures: 0, nextFetchAt: 0 };
const context = { config, instance: 'i', startedAt: '2026-04-09T11:00:00.000Z', now: Date.parse('2026-04-09T12:00:00.000Z') };

describe('a paused route on the dashboard and in status', () => {
  it('the dashboard marks the route, with its reason, and the tracker as degraded (not down)', () => {
    const state = buildRunState(ledger(), { ...context, health: { ...health, brokenRoutes: [broken] } });
    assert.equal(state.tracker.status, 'degraded');
    const [one, two] = state.groups.rows;
    assert.deepEqual(one.broken, { queue: 'P.One.Todo', reason: broken.reason, since: broken.since });
    assert.equal(two.broken, undefined);
  });

  it('the dashboard of another process reads it from the ledger', () => {
    const state = buildRunState(ledger([broken]), { ...context, health });
    assert.equal(state.groups.rows[0].broken?.reason, broken.reason);
    assert.equal(buildRunState(ledger(), { ...context, health }).tracker.status, 'ok');
  });

  it('status says which route is paused, since when and why (text and JSON)', () => {
    const status = buildStatus(ledger([broken]), config);
    assert.deepEqual(status.brokenRoutes, [broken]);
    assert.match(renderStatus(status), /^route paused: P\.One\.Todo \(since 2026-04-09T11:00:00\.000Z\): no Planka list is named exactly "P\.One\.Todo"$/m);
    assert.doesNotMatch(renderStatus(buildStatus(ledger(), config)), /paused/);
  });
});
