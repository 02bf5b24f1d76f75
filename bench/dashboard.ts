/**
 * Issue 7: the live dashboard. With 200 finished runs in the ledger and 1,000 lines in the log
 * tail, the time from the router's `dispatch` event to the task's row appearing in the page
 * (a MutationObserver in headless Chromium; both clocks are this machine's), against a baseline
 * measured in the same run: the SSE round trip of a tiny event through the same hub to the same
 * browser. Also the page's transfer size: HTML + JS + CSS + the first `snapshot` and `log` events.
 *   node --import tsx bench/dashboard.ts [dispatches]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as v from 'valibot';
import createJsonTracker from '../adapters/json/index.ts';
import { captureLog, mountRunDashboard } from '../src/api/dashboard/run-dashboard.ts';
import { startApiServer } from '../src/api/server.ts';
import { normaliseConfig } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { FileLedger, type RunRecord } from '../src/core/runs/ledger.ts';
import { createRouter } from '../src/core/dispatch/router.ts';
import { createTaskService } from '../src/core/task-service.ts';
import { createLogger } from '../src/log.ts';
import { median, percentile, ratio, scratch } from './support.ts';

const DISPATCHES = Number(process.argv[2] ?? 20);
const RECENT_RUNS = 200;
const LOG_LINES = 1_000;
const CHROMIUM = [process.env.DISPATCHER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => path && existsSync(path));
const wall = () => performance.timeOrigin + performance.now();

if (!CHROMIUM) {
  console.log('bench/dashboard: no Chromium found (apt-get install chromium, or set DISPATCHER_CHROMIUM); skipped');
  process.exit(0);
}
// Loaded from the repository at run time: scripts/bench.mjs bundles this file, and playwright-core
// cannot be bundled (it finds its own files through __dirname).
const loadFromRepo = createRequire(join(process.cwd(), 'package.json'));
const { chromium } = loadFromRepo('playwright-core') as typeof import('playwright-core');
const { dir, cleanup } = scratch('dashboard-bench-');

try {
  writeFileSync(join(dir, 'board.json'), JSON.stringify({ queues: { Todo: [], 'In Progress': [], Done: [] } }));
  const raw = v.parse(configSchema, {
    max_concurrent_agents: 4,
    api: { auth: 'none' },
    backend: { type: 'json', url: 'board.json' },
    routing: { Todo: { command: process.execPath, args: ['-e', ''], in_progress_queue: 'In Progress', on_success_queue: 'Done' } },
  });
  const config = normaliseConfig(raw, { baseDir: dir, env: {} });
  const log = createLogger({ level: 'info', stream: { write: () => true } as unknown as NodeJS.WritableStream });
  const tail = captureLog(log);
  const ledger = new FileLedger(config.stateDir);
  await ledger.update((data) => {
    const start = Date.now() - RECENT_RUNS * 60_000;
    for (let index = 0; index < RECENT_RUNS; index++) data.runs.push(finishedRun(index, start + index * 60_000));
  });
  for (let index = 0; index < LOG_LINES; index++) log.info(`task ${index} succeeded after 41.3s [run lz${index.toString(36)}-0f3a9c21, attempt 1/1] with a line as long as the usual ones`);

  const tracker = createJsonTracker({ options: { type: 'json', url: join(dir, 'board.json') }, baseDir: dir, env: {}, log });
  const api = await startApiServer({ host: '127.0.0.1', port: 0, auth: 'none', service: createTaskService(tracker), resolveRunToken: () => undefined, status: () => ({}), log });
  const router = createRouter({ config, tracker, ledger, log, apiUrl: api.url });
  const dashboard = await mountRunDashboard({ api, config, ledger, router, log, tail });

  const sizes = await transferSizes(api.url);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const loadStarted = performance.now();
    await page.goto(`${api.url}/`);
    await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr[data-task-id]').length >= 100 && document.querySelectorAll('#log .line').length >= 1000);
    const firstPaintMs = performance.now() - loadStarted;

    // Baseline: a tiny event through the same hub to a second EventSource in the same page.
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const win = window as unknown as { pings: Record<number, number>; pingSource: EventSource };
          win.pings = {};
          win.pingSource = new EventSource('/events');
          win.pingSource.addEventListener('bench-ping', (event) => {
            win.pings[JSON.parse((event as MessageEvent).data).n] = performance.timeOrigin + performance.now();
          });
          win.pingSource.addEventListener('log', () => resolve(), { once: true });
        }),
    );
    const pings: number[] = [];
    for (let n = 0; n < DISPATCHES; n++) {
      const sent = wall();
      dashboard.feed.hub.broadcast('bench-ping', { n });
      const received = await page.waitForFunction((k) => (window as unknown as { pings: Record<number, number> }).pings[k], n).then((handle) => handle.jsonValue() as Promise<number>);
      pings.push(received - sent);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The real thing: a task appears on the board, a tick dispatches it, the page shows its row.
    const dispatchedAt = new Map<string, number>();
    router.onEvent((event) => {
      if (event.type === 'dispatch') dispatchedAt.set(event.run.taskId, wall());
    });
    const latencies: number[] = [];
    for (let n = 0; n < DISPATCHES; n++) {
      const task = await tracker.createTask('Todo', `[HIGH] bench dispatch ${n}`, '');
      const seen = page.evaluate(
        (id) =>
          new Promise<number>((resolve) => {
            // No named helper here: tsx would wrap it in a __name() call the page does not have.
            const selector = `main tr[data-task-id="${CSS.escape(id)}"]`;
            const observer = new MutationObserver(() => {
              if (!document.querySelector(selector)) return;
              observer.disconnect();
              resolve(performance.timeOrigin + performance.now());
            });
            observer.observe(document.querySelector('main')!, { childList: true, subtree: true });
          }),
        task.id,
      );
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
      await router.tick();
      const shownAt = await seen;
      latencies.push(shownAt - dispatchedAt.get(task.id)!);
      await router.waitForAll();
      await new Promise((resolve) => setTimeout(resolve, 400)); // an isolated dispatch, not a burst
    }
    await page.evaluate(() => (window as unknown as { pingSource: EventSource }).pingSource.close());

    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
    const total = sizes.html + sizes.js + sizes.css + sizes.events;
    const totalGzip = sizes.htmlGzip + sizes.jsGzip + sizes.cssGzip + sizes.eventsGzip;
    console.log(`dashboard, ${RECENT_RUNS} finished runs in the ledger, ${LOG_LINES} log lines, ${DISPATCHES} dispatches, headless Chromium`);
    console.log(`  dispatch event → row in the DOM: median ${latencies.length ? median(latencies).toFixed(1) : '-'} ms, p90 ${percentile(latencies, 90).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
    console.log(`  baseline, SSE round trip of a tiny event: median ${median(pings).toFixed(1)} ms, p90 ${percentile(pings, 90).toFixed(1)} ms`);
    console.log(`  ratio (median): ${ratio(median(latencies), median(pings))} the baseline`);
    console.log(`  first load to a full page (100 rows, 1,000 log lines): ${firstPaintMs.toFixed(0)} ms`);
    console.log(`  transfer, plain: HTML ${kb(sizes.html)} + JS ${kb(sizes.js)} + CSS ${kb(sizes.css)} + first snapshot ${kb(sizes.snapshot)} + log tail ${kb(sizes.log)} = ${kb(total)}`);
    console.log(`  transfer, gzip:  HTML ${kb(sizes.htmlGzip)} + JS ${kb(sizes.jsGzip)} + CSS ${kb(sizes.cssGzip)} + events ${kb(sizes.eventsGzip)} (the stream itself is sent uncompressed) = ${kb(totalGzip)}`);
  } finally {
    await browser.close();
    dashboard.close();
    await router.waitForAll();
    await api.close();
    tail.detach();
  }
} finally {
  cleanup();
}

function finishedRun(index: number, endedAt: number): RunRecord {
  const names = ['CRITICAL: payment webhook drops events', '[HIGH] flaky login test', 'Document the retry policy', 'LOW: tidy the changelog'];
  const failed = index % 7 === 0;
  return {
    id: `lz${index.toString(36)}-0f3a9c21`,
    taskId: String(1000 + index),
    taskName: `${names[index % names.length]} #${index}`,
    taskUrl: `https://tracker.example.com/cards/${1000 + index}`,
    route: 'Todo',
    agent: 'claude',
    attempt: 1,
    maxAttempts: 2,
    status: failed ? 'failed' : 'succeeded',
    outcome: failed ? 'exit 1' : undefined,
    createdAt: new Date(endedAt - 50_000).toISOString(),
    startedAt: new Date(endedAt - 45_000).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
  };
}

/** Bytes of the page and its assets as served (plain and gzip), and of the first events of /events. */
async function transferSizes(base: string) {
  const bytes = async (path: string, gzip: boolean) => {
    const response = await fetch(base + path, { headers: gzip ? { 'accept-encoding': 'gzip' } : { 'accept-encoding': 'identity' } });
    await response.arrayBuffer();
    return Number(response.headers.get('content-length'));
  };
  const response = await fetch(`${base}/events`);
  const reader = response.body!.getReader();
  let text = '';
  while (!/event: log\ndata: [^\n]*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  const snapshot = /event: snapshot\ndata: [^\n]*\n\n/.exec(text)![0];
  const log = /event: log\ndata: [^\n]*\n\n/.exec(text)![0];
  return {
    html: await bytes('/', false),
    htmlGzip: await bytes('/', true),
    js: await bytes('/dashboard.js', false),
    jsGzip: await bytes('/dashboard.js', true),
    css: await bytes('/dashboard.css', false),
    cssGzip: await bytes('/dashboard.css', true),
    snapshot: Buffer.byteLength(snapshot),
    log: Buffer.byteLength(log),
    events: Buffer.byteLength(snapshot) + Buffer.byteLength(log),
    eventsGzip: gzipSync(snapshot + log).length,
  };
}
