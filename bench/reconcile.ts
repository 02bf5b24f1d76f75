/**
 * What reconciliation costs a tick: 50 agents running (each a `sleep`), a poll due, against the
 * fake Planka and the fake Gitea. Prints the tracker requests of one tick and its median time,
 * with reconciliation (`stop_when_moved = true`, the default: the in-progress queue is polled with
 * the watched one and every running task's place checked) and, measured in the same run as the
 * baseline, without it (`stop_when_moved = false`). Target: no extra request on Planka (one board
 * request either way), at most one per in-progress label on Gitea.
 *
 *   npm run build && node scripts/bench.mjs bench/reconcile.ts
 */
import { join } from 'node:path';
import * as v from 'valibot';
import { createTracker } from '../adapters/registry.ts';
import type { TrackerAdapter } from '../adapters/types.ts';
import { normaliseConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { createRouter } from '../src/core/dispatch/router.ts';
import { FileLedger } from '../src/core/runs/ledger.ts';
import { silentLogger } from '../src/log.ts';
import { startFakePlanka } from '../fixtures/planka/fake-planka.ts';
import { startFakeGitea } from '../fixtures/gitea/fake-gitea.ts';
import { fmt, median, ratio, scratch } from './support.ts';

const AGENTS = 50;
const WAITING = 10;
const TICKS = 31;
const POLL_MS = 50;

interface Tracker {
  name: string;
  backend: Record<string, unknown>;
  env: Record<string, string>;
  route: { queue: string; inProgress: string };
  requests(): number;
  reset(): void;
  close(): Promise<void>;
}

async function fakePlanka(): Promise<Tracker> {
  const fake = await startFakePlanka({ version: 2 });
  const bot = fake.seed.user({ username: 'bot' });
  const { lists } = fake.seed.boardWithLists({ project: 'Bench', board: 'Work', lists: ['Todo', 'In Progress', 'Done'], members: [bot] });
  for (let i = 0; i < AGENTS + WAITING; i++) fake.seed.card(lists.Todo, `Task ${i}`, { description: 'Some words about the work.' });
  return {
    name: 'Planka 2.x',
    backend: { type: 'planka', url: fake.url },
    env: { PLANKA_TOKEN: fake.tokenFor(bot) },
    route: { queue: 'Bench.Work.Todo', inProgress: 'Bench.Work.In Progress' },
    requests: () => fake.requests.length,
    reset: () => void (fake.requests.length = 0),
    close: () => fake.close(),
  };
}

async function fakeGitea(): Promise<Tracker> {
  const fake = await startFakeGitea();
  fake.addRepo('acme/app', { labels: ['ready', 'in-progress'] });
  for (let i = 0; i < AGENTS + WAITING; i++) fake.addIssue('acme/app', { title: `Task ${i}`, body: 'Some words about the work.', labels: ['ready'] });
  return {
    name: 'Gitea',
    backend: { type: 'gitea', url: fake.url },
    env: { GITEA_TOKEN: fake.token },
    route: { queue: 'acme/app:ready', inProgress: 'acme/app:in-progress' },
    requests: () => fake.requests.length,
    reset: () => fake.resetRequests(),
    close: () => fake.close(),
  };
}

/** Starts AGENTS agents on `tracker`, then measures ticks that poll (every slot taken). */
async function measure(make: () => Promise<Tracker>, stopWhenMoved: boolean): Promise<{ name: string; requests: number; ms: number }> {
  const fake = await make();
  const place = scratch('dispatcher-bench-reconcile-');
  let tracker: TrackerAdapter | undefined;
  let router: ReturnType<typeof createRouter> | undefined;
  try {
    const raw = v.parse(configSchema, {
      backend: fake.backend,
      poll_interval: POLL_MS / 1000,
      max_concurrent_agents: AGENTS,
      kill_grace: 1,
      routing: { [fake.route.queue]: { command: 'sleep', args: ['600'], in_progress_queue: fake.route.inProgress, stop_when_moved: stopWhenMoved } },
    });
    const config = normaliseConfig(raw, { file: join(place.dir, 'dispatcher.toml'), baseDir: place.dir, env: fake.env });
    tracker = await createTracker({ options: config.backend!, baseDir: place.dir, env: fake.env, log: silentLogger, queues: [fake.route.queue, fake.route.inProgress] });
    router = createRouter({ config, tracker, ledger: new FileLedger(config.stateDir), log: silentLogger });
    const started = await router.tick();
    if (started.dispatched.length !== AGENTS) throw new Error(`expected ${AGENTS} agents, started ${started.dispatched.length}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the starts' own ledger writes are over
    const requests: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < TICKS + 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS + 5)); // a poll is due again
      fake.reset();
      const at = performance.now();
      const tick = await router.tick();
      const ms = performance.now() - at;
      if (tick.ready === undefined) throw new Error(`the tick did not poll: ${tick.error ?? 'no reason'}`);
      if (i < 2) continue; // warm-up
      times.push(ms);
      requests.push(fake.requests());
    }
    return { name: fake.name, requests: median(requests), ms: median(times) };
  } finally {
    await router?.stopAll('benchmark over');
    await tracker?.close?.();
    await fake.close();
    place.cleanup();
  }
}

for (const make of [fakePlanka, fakeGitea]) {
  const without = await measure(make, false);
  const withReconcile = await measure(make, true);
  console.log(
    [
      `${without.name}: one tick with ${AGENTS} agents running and a poll due, median of ${TICKS}:`,
      `  without reconciliation (stop_when_moved = false): ${without.requests} request(s), ${fmt(without.ms)}`,
      `  with reconciliation:                              ${withReconcile.requests} request(s), ${fmt(withReconcile.ms)}`,
      `  extra requests per tick: ${withReconcile.requests - without.requests}; time ratio: ${ratio(withReconcile.ms, without.ms)}`,
    ].join('\n'),
  );
}
