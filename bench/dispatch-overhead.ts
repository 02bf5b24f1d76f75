/**
 * Issue 3 (a): dispatch overhead. 500 tasks on a JSON board routed to `true` with
 * max_concurrent_agents 16, through the real router (claim, ledger, spawner, outcome), against a
 * bare Node loop that spawns `true` 500 times at the same concurrency. Both in this run.
 * Also (b): the router's RSS after 1,000 dispatches, and its growth from the 500th to the 1,000th.
 *   node --import tsx bench/dispatch-overhead.ts [tasks]
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
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
      // What a bare script does: spawn with Node's defaults (piped stdio) and wait for it to close.
      await new Promise<void>((resolve, reject) => spawn('true').on('close', () => resolve()).on('error', reject));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/**
 * Scratch folders are removed at the end, not between rounds: a burst of deletions makes this
 * machine's ext4 slow to create files for a minute after (it skips recently freed inodes), which
 * would bill the next round's log files for the previous round's cleanup.
 */
const cleanups: Array<() => void> = [];

async function dispatcherRun(count: number, onProgress?: (done: number) => void): Promise<void> {
  const { dir, cleanup } = scratch('dispatch-bench-');
  cleanups.push(cleanup);
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
}

const rounds = 3;
const bare: number[] = [];
const ours: number[] = [];
await dispatcherRun(32); // warm-up
for (let round = 0; round < rounds; round++) {
  bare.push((await timed(() => bareSpawns(TASKS))).ms);
  ours.push((await timed(() => dispatcherRun(TASKS))).ms);
}
for (const cleanup of cleanups) cleanup();
const best = (values: number[]) => Math.min(...values);
console.log(`dispatch overhead: ${TASKS} tasks → \`true\`, concurrency ${CONCURRENCY}, best of ${rounds}`);
console.log(`  bare node spawner: ${fmt(best(bare))}  (${bare.map(fmt).join(', ')})`);
console.log(`  dispatcher router: ${fmt(best(ours))}  (${ours.map(fmt).join(', ')})`);
console.log(`  ratio: ${ratio(best(ours), best(bare))} (target ≤ 1.5×)`);

// (b) memory: the real daemon (`dispatcher run`, the built CLI) through 1,000 dispatches; its RSS
// is read from /proc when the 500th and the 1,000th run have ended.
const { dir, cleanup } = scratch('dispatch-rss-');
const many = Array.from({ length: 1000 }, (_, i) => ({ id: String(i + 1), name: `task ${i + 1}`, description: '', labels: [], assignees: [], comments: [], tasks: [] }));
writeFileSync(join(dir, 'board.json'), JSON.stringify({ queues: { Todo: many, 'In Progress': [] } }));
writeFileSync(join(dir, 'dispatcher.toml'), `max_concurrent_agents = ${CONCURRENCY}\npoll_interval = 1\napi_port = 0\n[backend]\ntype = "json"\nurl = "board.json"\n[routing."Todo"]\ncommand = "true"\nin_progress_queue = "In Progress"\n`);
const daemon = spawn(process.execPath, [join(process.cwd(), 'bin/dispatcher.js'), 'run', '--log-format', 'plain'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const rss: Record<number, number> = {};
let ended = 0;
let pending = '';
await new Promise<void>((resolve) => {
  daemon.stderr!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!/ succeeded after /.test(line)) continue;
      ended++;
      if (ended === 500 || ended === 1000) rss[ended] = rssOf(daemon.pid!);
      if (ended === 1000) resolve();
    }
  });
});
daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.on('close', resolve));
cleanup();
console.log(`memory of \`dispatcher run\`: RSS after 500 dispatches ${rss[500].toFixed(1)} MB, after 1,000 ${rss[1000].toFixed(1)} MB (growth ${(rss[1000] - rss[500]).toFixed(1)} MB; target ≤ 80 MB and no growth)`);
