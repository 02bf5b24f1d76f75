// Load generator for bench/api-get-task.ts, run as its own process so that it does not share an
// event loop (or a core) with the server it measures. Plain JS: no compiler in this process.
//   node bench/load-client.mjs <base-url> <token|-> <ids> <concurrency> <seconds> [warmup-seconds]
// Prints one JSON line: {"requests", "errors", "seconds", "histogram"}: latencies counted in
// buckets of 0.05 ms ({"bucket": count}), so that several rounds can be merged exactly.
import { Agent, request } from 'node:http';

const [base, token, idCount, concurrency, seconds, warmup = '1'] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const headers = token && token !== '-' ? { authorization: `Bearer ${token}` } : {};
const ids = Number(idCount);
let next = 0;

function get(path) {
  return new Promise((resolve) => {
    const req = request(base + path, { agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function worker(until, latencies, counts) {
  while (performance.now() < until) {
    const path = `/tasks/${(next++ % ids) + 1}`;
    const started = performance.now();
    const ok = await get(path);
    if (latencies) latencies.push(performance.now() - started);
    if (counts) ok ? counts.ok++ : counts.errors++;
  }
}

const pool = (until, latencies, counts) => Promise.all(Array.from({ length: Number(concurrency) }, () => worker(until, latencies, counts)));

await pool(performance.now() + Number(warmup) * 1000);
const latencies = [];
const counts = { ok: 0, errors: 0 };
const started = performance.now();
await pool(started + Number(seconds) * 1000, latencies, counts);
const elapsed = (performance.now() - started) / 1000;
const histogram = {};
for (const ms of latencies) {
  const bucket = Math.round(ms * 20);
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}
console.log(JSON.stringify({ requests: counts.ok, errors: counts.errors, seconds: elapsed, histogram }));
agent.destroy();
