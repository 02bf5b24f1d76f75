/**
 * Push latency: from a webhook delivery leaving the (fake) Gitea to the agent's process starting,
 * over 200 deliveries, with `dispatcher run`'s parts in one process: the receivers on their own
 * address, the tick loop at poll_interval = 300 (so the poll never helps), the router, the Gitea
 * adapter against the fake Gitea, which sends a signed delivery like the recorded ones when an
 * issue is created. Beside it, the same run measures what polling costs at the default interval:
 * a task created at a random moment waits half of poll_interval (15 s) on average for the poll,
 * plus the tick's own dispatch time (measured here from a `refresh`, which starts a tick at once).
 *
 *   npm run build && node scripts/bench.mjs bench/push-latency.ts [deliveries]
 */
import { join } from 'node:path';
import * as v from 'valibot';
import { createTracker } from '../adapters/registry.ts';
import { startFakeGitea } from '../fixtures/gitea/fake-gitea.ts';
import { normaliseConfig, routedQueues } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { createRouter } from '../src/core/dispatch/router.ts';
import { runTickLoop } from '../src/core/dispatch/tick-loop.ts';
import { TickRequests } from '../src/core/dispatch/tick-requests.ts';
import { FileLedger } from '../src/core/runs/ledger.ts';
import { PushStatusRecorder } from '../src/api/hooks/push-status.ts';
import { serveHooks } from '../src/api/hooks/serve.ts';
import { silentLogger } from '../src/log.ts';
import { fmt, median, percentile, scratch } from './support.ts';

const DELIVERIES = Number(process.argv[2] ?? 200);
const REFRESHES = 20;
const DEFAULT_POLL_MS = 30_000;

const fake = await startFakeGitea();
fake.addRepo('acme/app', { labels: ['ready', 'in-progress'] });
const { dir, cleanup } = scratch('push-latency-');
const raw = v.parse(configSchema, {
  poll_interval: 300,
  max_concurrent_agents: 8,
  state_dir: join(dir, 'state'),
  backend: { type: 'gitea', url: fake.url },
  webhooks: { listen: '127.0.0.1:0' },
  routing: { 'acme/app:ready': { command: 'true', in_progress_queue: 'acme/app:in-progress', on_success_queue: 'acme/app:closed' } },
});
const config = normaliseConfig(raw, { baseDir: dir, env: { GITEA_TOKEN: fake.token, GITEA_WEBHOOK_SECRET: 'bench-secret' } });
const tracker = await createTracker({ options: config.backend!, baseDir: dir, env: config.env, log: silentLogger, queues: routedQueues(config) });
const ledger = new FileLedger(config.stateDir);
const router = createRouter({ config, tracker, ledger, log: silentLogger });
const requests = new TickRequests();
const hooks = (await serveHooks({ config, mode: 'run', requests, status: new PushStatusRecorder(), log: silentLogger }))!;
fake.addHook('acme/app', { url: `${hooks.url}/hooks/gitea`, secret: 'bench-secret' });
const stop = new AbortController();
const loop = runTickLoop(router, { pollIntervalMs: config.pollIntervalMs, signal: stop.signal, log: silentLogger, requests });

/** Resolves with the time the next agent process started. */
const nextStart = () =>
  new Promise<number>((resolve) => {
    const off = router.onEvent((event) => {
      if (event.type !== 'dispatch') return;
      off();
      resolve(Date.now());
    });
  });
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

await new Promise((resolve) => setTimeout(resolve, 300)); // the first poll is over
const push: number[] = [];
for (let index = 0; index < DELIVERIES; index++) {
  const started = nextStart();
  const sentBefore = fake.deliveries.length;
  fake.addIssue('acme/app', { title: `push ${index}`, labels: ['ready'] });
  const at = await started;
  push.push(at - fake.deliveries[sentBefore].sentAt);
  await settle();
}

const tick: number[] = [];
for (let index = 0; index < REFRESHES; index++) {
  const hooksBefore = fake.hooks('acme/app').splice(0); // no delivery: only the refresh's tick
  const started = nextStart();
  fake.addIssue('acme/app', { title: `refresh ${index}`, labels: ['ready'] });
  const asked = Date.now();
  await requests.request('refresh');
  tick.push((await started) - asked);
  fake.hooks('acme/app').push(...hooksBefore);
  await settle();
}

stop.abort();
await loop;
await router.waitForAll();
await hooks.close();
await tracker.close?.();
await fake.close();
cleanup();

const pollingMedian = DEFAULT_POLL_MS / 2 + median(tick);
console.log(`push latency (delivery sent → agent process started), ${push.length} deliveries, fake Gitea, poll_interval = 300:`);
console.log(`  median ${fmt(median(push))}, p99 ${fmt(percentile(push, 99))}, max ${fmt(Math.max(...push))}   (target: median ≤ 100 ms, p99 ≤ 300 ms)`);
console.log(`polling at the default 30 s, same run: median wait ${fmt(pollingMedian)} (half the interval + a tick's own ${fmt(median(tick))}, measured over ${REFRESHES} refreshes)`);
console.log(`push is ${(pollingMedian / median(push)).toFixed(0)}× sooner at the median`);
