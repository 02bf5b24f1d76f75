/**
 * Issue 3, measured on the real daemon (`dispatcher run`, the built CLI: run `npm run build` first).
 * (a) Dispatch overhead: 500 tasks on a JSON board routed to `true` with max_concurrent_agents 16,
 *     from the daemon's first dispatch to its 500th recorded exit, against a bare Node script
 *     (bench/bare-spawner.mjs) that spawns `true` 500 times at the same concurrency, from its first
 *     spawn to its last exit. Each is a process of its own and neither one's start-up is counted.
 *     Alternated over rounds: each round's ratio compares two runs a second apart (this host's
 *     speed drifts by the minute), and the median of those is the figure; best against best too.
 *     The guard (issue 15): that median stays ≤ 2.0×; the benchmark exits 1 when it does not,
 *     or when RSS goes past 80 MB.
 *     CPU time is counted over the same window, the process's own and its children's (the agents,
 *     and the daemon's exit-status waiters): on a shared host it moves far less than wall time.
 * (b) Memory: the daemon's RSS after 500 and 1,000 dispatches, and the growth between them.
 *   node scripts/bench.mjs bench/dispatch-overhead.ts [tasks] [rounds]
 * BENCH_CPU_PROF=<folder> also has the daemon write a CPU profile there.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fmt, median, ratio, scratch } from './support.ts';
import { type Cpu, cpuSince, procCpu } from './proc-cpu.mjs';

const TASKS = Number(process.argv[2] ?? 500);
const CONCURRENCY = 16;
const ROUNDS = Number(process.argv[3] ?? 7);
/** Issue 15: the target (≤ 1.5×) was met and retired; this guard stays. */
const GUARD = 2.0;
/** Issue 3: RSS after 500 and 1,000 dispatches. */
const RSS_LIMIT_MB = 80;
/** 200 file creations take 8–10 ms on this project's machines when no mass deletion preceded them. */
const POLLUTED_PROBE_MS = 15;
const root = process.cwd();

interface Timed {
  ms: number;
  cpu: Cpu;
}

function bareScript(count: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench/bare-spawner.mjs'), String(count), String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject).on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Timed) : reject(new Error(`bare-spawner exited ${code}`))));
  });
}

/**
 * Scratch folders are removed at the end, not between rounds: this machine's ext4 skips inodes freed
 * in the last minutes when it creates a file, so a burst of deletions would bill one round's cleanup
 * to the next round's log files.
 */
const cleanups: Array<() => void> = [];

/** `ms` and `cpu` count from the first dispatch to the last recorded exit. */
interface DaemonRun extends Timed {
  /** RSS (MB) when the given number of runs had ended. */
  rss: Record<number, number>;
}

async function daemon(count: number, rssAt: number[] = []): Promise<DaemonRun> {
  const { dir, cleanup } = scratch('dispatch-bench-');
  cleanups.push(cleanup);
  const tasks = Array.from({ length: count }, (_, i) => ({ id: String(i + 1), name: `task ${i + 1}`, description: '', labels: [], assignees: [], comments: [], tasks: [] }));
  writeFileSync(join(dir, 'board.json'), JSON.stringify({ queues: { Todo: tasks, 'In Progress': [] } }));
  writeFileSync(join(dir, 'dispatcher.toml'), `max_concurrent_agents = ${CONCURRENCY}\npoll_interval = 1\napi_port = 0\n[backend]\ntype = "json"\nurl = "board.json"\n[routing."Todo"]\ncommand = "true"\nin_progress_queue = "In Progress"\n`);
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'bin/dispatcher.js'), 'run', '--log-format', 'plain'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const closed = new Promise((resolve) => child.on('close', resolve));
  const rss: Record<number, number> = {};
  let first: number | undefined;
  let firstCpu: Cpu | undefined;
  let ended = 0;
  let pending = '';
  const timed = await new Promise<Timed>((resolve, reject) => {
    child.on('close', (code) => reject(new Error(`dispatcher run exited ${code} after ${ended} runs`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (first === undefined && line.includes(' dispatched task ')) {
          first = performance.now();
          firstCpu = procCpu(child.pid!);
        }
        if (!line.includes(' succeeded after ')) continue;
        ended++;
        if (rssAt.includes(ended)) rss[ended] = rssOf(child.pid!);
        if (ended === count) resolve({ ms: performance.now() - first!, cpu: cpuSince(firstCpu!, procCpu(child.pid!)) });
      }
    });
  });
  child.kill('SIGTERM');
  await closed;
  return { ...timed, rss };
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** How long this host takes to create files where the daemon's state goes: a known confounder. */
function fileCreationProbe(): number {
  const { dir, cleanup } = scratch('dispatch-probe-');
  cleanups.push(cleanup);
  const started = performance.now();
  for (let i = 0; i < 200; i++) closeSync(openSync(join(dir, `f${i}`), 'w'));
  return performance.now() - started;
}

const load = loadavg()[0];
const probe = fileCreationProbe();
await daemon(32); // warm-up
const bareRuns: Timed[] = [];
const ourRuns: Timed[] = [];
for (let round = 0; round < ROUNDS; round++) {
  bareRuns.push(await bareScript(TASKS));
  ourRuns.push(await daemon(TASKS));
}
const bare = bareRuns.map((run) => run.ms);
const ours = ourRuns.map((run) => run.ms);
const best = (values: number[]) => Math.min(...values);
console.log(`dispatch overhead: ${TASKS} tasks → \`true\`, concurrency ${CONCURRENCY}, ${ROUNDS} rounds (host: 200 file creations took ${fmt(probe)})`);
// On a disk where thousands of files went in the last minutes (an earlier run of this benchmark,
// the test suite), each file the daemon creates costs several times more; the bare script creates none.
if (probe > POLLUTED_PROBE_MS) console.log(`  (file creation is slow here: files were deleted nearby in the last few minutes; for a fair figure, run again after five idle minutes)`);
console.log(`  bare node script:  best ${fmt(best(bare))}, median ${fmt(median(bare))}  (${bare.map(fmt).join(', ')})`);
console.log(`  dispatcher run:    best ${fmt(best(ours))}, median ${fmt(median(ours))}  (${ours.map(fmt).join(', ')})`);
const paired = ours.map((ms, round) => ms / bare[round]);
console.log(`  ratio per round: ${paired.map((value) => `${value.toFixed(2)}×`).join(', ')}`);
const overhead = median(paired);
console.log(`  ratio: median per round ${overhead.toFixed(2)}×, best against best ${ratio(best(ours), best(bare))} (guard ≤ ${GUARD.toFixed(1)}×: ${overhead <= GUARD ? 'met' : 'NOT MET'})`);
const cpuOf = (runs: Timed[]) => ({ self: median(runs.map((run) => run.cpu.self)), children: median(runs.map((run) => run.cpu.children)) });
const cpuLine = ({ self, children }: Cpu) => `${fmt(self)} own + ${fmt(children)} children = ${fmt(self + children)}`;
const [bareCpu, ourCpu] = [cpuOf(bareRuns), cpuOf(ourRuns)];
console.log(`  CPU (medians): bare ${cpuLine(bareCpu)}; dispatcher ${cpuLine(ourCpu)} (${ratio(ourCpu.self + ourCpu.children, bareCpu.self + bareCpu.children)})`);
console.log(`  host load average: ${load.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end, on ${availableParallelism()} CPUs`);
if (overhead > GUARD) process.exitCode = 1;

const { rss } = await daemon(1000, [500, 1000]);
for (const cleanup of cleanups) cleanup();
console.log(`memory of \`dispatcher run\`: RSS after 500 dispatches ${rss[500].toFixed(1)} MB, after 1,000 ${rss[1000].toFixed(1)} MB (growth ${(rss[1000] - rss[500]).toFixed(1)} MB; target ≤ ${RSS_LIMIT_MB} MB and no growth)`);
if (Math.max(rss[500], rss[1000]) > RSS_LIMIT_MB) process.exitCode = 1;
