/**
 * Issue 4: `GET /tasks/{id}` through the agent API on a 1,000-task JSON board (operator token),
 * loaded from a separate process (bench/load-client.mjs) at concurrency 32 for 10 s, beside a bare
 * node:http server answering the same task JSON from memory, measured in the same run. The 10 s
 * are taken in 5 interleaved rounds of 2 s, so that noise from a busy machine hits all alike.
 * Targets: ≥ 50 % of the bare server's requests/s, p99 ≤ 20 ms.
 *   node --import tsx bench/api-get-task.ts [seconds=10] [concurrency=32] [rounds=5]
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createJsonTracker from '../adapters/json/index.ts';
import { createTaskService } from '../src/core/task-service.ts';
import { silentLogger } from '../src/log.ts';
import { ensureOperatorToken, startApiServer } from '../src/api/server.ts';
import { fmt, scratch } from './support.ts';

const seconds = Number(process.argv[2] ?? 10);
const concurrency = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 5);
const TASKS = 1000;

interface Round {
  requests: number;
  errors: number;
  seconds: number;
  /** 0.05 ms bucket → count. */
  histogram: Record<string, number>;
}

interface Load {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

function round(url: string, token: string): Promise<Round> {
  const client = join(import.meta.dirname, 'load-client.mjs');
  const args = [client, url, token, String(TASKS), String(concurrency), String(seconds / rounds), '0.5'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Round) : reject(new Error(`load client exited ${code}`))));
  });
}

function merge(results: Round[]): Load {
  const histogram = new Map<number, number>();
  for (const result of results) for (const [bucket, count] of Object.entries(result.histogram)) histogram.set(Number(bucket), (histogram.get(Number(bucket)) ?? 0) + count);
  const buckets = [...histogram].sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  const at = (p: number) => {
    let seen = 0;
    for (const [bucket, count] of buckets) if ((seen += count) > p * total) return bucket / 20;
    return (buckets.at(-1)?.[0] ?? 0) / 20;
  };
  const requests = results.reduce((sum, result) => sum + result.requests, 0);
  const time = results.reduce((sum, result) => sum + result.seconds, 0);
  return { requests, errors: results.reduce((sum, result) => sum + result.errors, 0), rps: requests / time, p50: at(0.5), p99: at(0.99) };
}

const { dir, cleanup } = scratch('api-get-task-bench-');
const tasks = Array.from({ length: TASKS }, (_, i) => ({
  id: String(i + 1),
  name: `Task number ${i + 1}`,
  description: 'Some description of the work to do. '.repeat(5),
  labels: ['bug'],
  assignees: ['alice'],
  comments: [{ author: 'alice', text: 'A comment.', created_at: '2026-01-01T00:00:00Z' }],
  tasks: [],
}));
const board = join(dir, 'board.json');
writeFileSync(board, JSON.stringify({ queues: { Todo: tasks.slice(0, 500), 'In Progress': tasks.slice(500), Done: [] } }, null, 2));

const tracker = createJsonTracker({ options: { type: 'json', url: board }, baseDir: dir, env: {}, log: silentLogger });
const operator = await ensureOperatorToken(join(dir, 'state'));
const api = await startApiServer({
  host: '127.0.0.1',
  port: 0,
  auth: 'token',
  service: createTaskService(tracker),
  resolveRunToken: () => undefined,
  operatorTokenHash: operator.hash,
  status: () => ({}),
  log: silentLogger,
});

// The bare server answers the very same bytes, prepared in memory.
const bodies = new Map<string, string>();
for (const task of tasks) bodies.set(`/tasks/${task.id}`, JSON.stringify(await tracker.getTask(task.id)));
const bare: Server = createServer((request, response) => {
  const body = bodies.get(request.url ?? '');
  response.writeHead(body ? 200 : 404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body ?? '') });
  response.end(body ?? '');
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

try {
  const runs: Record<'bare' | 'api', Round[]> = { bare: [], api: [] };
  for (let index = 0; index < rounds; index++) {
    runs.bare.push(await round(bareUrl, '-'));
    runs.api.push(await round(api.url, operator.token));
  }
  const [baseline, measured] = [merge(runs.bare), merge(runs.api)];
  const share = measured.rps / baseline.rps;
  const row = (name: string, result: Load) =>
    `  ${name.padEnd(26)} ${result.rps.toFixed(0).padStart(7)} req/s   p50 ${fmt(result.p50).padStart(8)}   p99 ${fmt(result.p99).padStart(8)}   errors ${result.errors}`;
  console.log(`GET /tasks/{id}, ${TASKS}-task JSON board, concurrency ${concurrency}, ${seconds} s each in ${rounds} interleaved rounds (load from a separate process)`);
  console.log(row('bare node:http (memory)', baseline));
  console.log(row('dispatcher API', measured));
  console.log(`  ratio: ${(share * 100).toFixed(0)} % of bare (target ≥ 50 %)   p99 ${fmt(measured.p99)} (target ≤ 20 ms)`);
  if (measured.errors + baseline.errors > 0) process.exitCode = 1;
} finally {
  await api.close();
  await new Promise((resolve) => bare.close(resolve));
  cleanup();
}
