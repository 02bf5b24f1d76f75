/**
 * Issue 3 (a): dispatch overhead. 500 tasks on a JSON board routed to `true` with
 * max_concurrent_agents 16, through the real router (claim, ledger, spawner, outcome), against a
 * bare Node loop that spawns `true` 500 times at the same concurrency. Both in this run.
 * Also (b): the router's RSS after 1,000 dispatches, and its growth from the 500th to the 1,000th.
 *   node --import tsx bench/dispatch-overhead.ts [tasks]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import createJsonTracker from '../adapters/json/index.ts';
import { normaliseConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { Ledger } from '../src/core/ledger.ts';
import { createRouter } from '../src/core/router.ts';
import { runTickLoop } from '../src/core/tick-loop.ts';
import { silentLogger } from '../src/log.ts';
import { fmt, ratio, scratch, timed } from './support.ts';

const TASKS = Number(process.argv[2] ?? 500);
const CONCURRENCY = 16;

async function bareSpawns(count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await new Promise<void>((resolve, reject) => spawn('true', [], { stdio: 'ignore' }).on('exit', () => resolve()).on('error', reject));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function dispatcherRun(count: number, onProgress?: (done: number) => void): Promise<void> {
  const { dir, cleanup } = scratch('dispatch-bench-');
  const tasks = Array.from({ length: count }, (_, i) => ({ id: String(i + 1), name: `task ${i + 1}`, description: '', labels: [], assignees: [], comments: [], tasks: [] }));
  writeFileSync(join(dir, 'board.json'), JSON.stringify({ queues: { Todo: tasks, 'In Progress': [], Done: [] } }));
  const raw = v.parse(configSchema, {
    max_concurrent_agents: CONCURRENCY,
    poll_interval: 1,
    backend: { type: 'json', url: 'board.json' },
    routing: { Todo: { command: 'true', in_progress_queue: 'In Progress' } },
  });
  const config = normaliseConfig(raw, { baseDir: dir, env: {} });
  const tracker = createJsonTracker({ options: config.backend!, baseDir: dir, env: {}, log: silentLogger });
  const router = createRouter({ config, tracker, ledger: new Ledger(config.stateDir), log: silentLogger });
  const stop = new AbortController();
  let settled = 0;
  router.onEvent((event) => {
    if (event.type !== 'exit') return;
    settled++;
    onProgress?.(settled);
    if (settled === count) stop.abort();
  });
  await runTickLoop(router, { pollIntervalMs: config.pollIntervalMs, signal: stop.signal, log: silentLogger });
  await router.waitForAll();
  cleanup();
}

const rounds = 3;
const bare: number[] = [];
const ours: number[] = [];
await dispatcherRun(32); // warm-up
for (let round = 0; round < rounds; round++) {
  bare.push((await timed(() => bareSpawns(TASKS))).ms);
  ours.push((await timed(() => dispatcherRun(TASKS))).ms);
}
const best = (values: number[]) => Math.min(...values);
console.log(`dispatch overhead: ${TASKS} tasks → \`true\`, concurrency ${CONCURRENCY}, best of ${rounds}`);
console.log(`  bare node spawner: ${fmt(best(bare))}  (${bare.map(fmt).join(', ')})`);
console.log(`  dispatcher router: ${fmt(best(ours))}  (${ours.map(fmt).join(', ')})`);
console.log(`  ratio: ${ratio(best(ours), best(bare))} (target ≤ 1.5×)`);

// (b) memory: 1,000 dispatches in one router, RSS at the 500th and the 1,000th.
const rss: Record<number, number> = {};
globalThis.gc?.();
await dispatcherRun(1000, (done) => {
  if (done === 500 || done === 1000) {
    globalThis.gc?.();
    rss[done] = process.memoryUsage().rss / 2 ** 20;
  }
});
console.log(`memory: RSS after 500 dispatches ${rss[500].toFixed(1)} MB, after 1,000 ${rss[1000].toFixed(1)} MB (growth ${(rss[1000] - rss[500]).toFixed(1)} MB; target ≤ 80 MB, no growth)`);
