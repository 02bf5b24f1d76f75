/**
 * What spawnAgent costs over a bare child_process.spawn: 500 runs of `true` at concurrency 16,
 * each way, alternated over a few rounds (best round kept). The baseline uses the same stdio (pipes)
 * and waits for 'close'; spawnAgent adds its log file, process group, group check and drain.
 *
 *   node --import tsx bench/spawn.ts [runs] [concurrency]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnAgent } from '../src/core/process/spawner.ts';

const runs = Number(process.argv[2] ?? 500);
const concurrency = Number(process.argv[3] ?? 16);
const rounds = 5;
const dir = mkdtempSync(join(tmpdir(), 'bench-spawn-'));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

async function pool(count: number, work: (index: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - started;
}

function rawSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

async function agentSpawn(index: number): Promise<void> {
  const outcome = await spawnAgent({ command: 'true', args: [], env, cwd: dir, logFile: join(dir, 'logs', `${index % 64}.log`), killGraceMs: 1000 }).done;
  if (outcome.kind !== 'exited' || outcome.exitCode !== 0) throw new Error(`unexpected outcome: ${JSON.stringify(outcome)}`);
}

try {
  await pool(50, rawSpawn);
  await pool(50, agentSpawn);
  let raw = Infinity;
  let agent = Infinity;
  for (let round = 0; round < rounds; round++) {
    raw = Math.min(raw, await pool(runs, rawSpawn));
    agent = Math.min(agent, await pool(runs, agentSpawn));
  }
  const perRaw = raw / runs;
  const perAgent = agent / runs;
  console.log(`spawn of \`true\`, ${runs} runs at concurrency ${concurrency}, best of ${rounds} rounds`);
  console.log(`  child_process.spawn (baseline): ${raw.toFixed(0)} ms total, ${perRaw.toFixed(2)} ms/run, ${(runs / (raw / 1000)).toFixed(0)} runs/s`);
  console.log(`  spawnAgent:                     ${agent.toFixed(0)} ms total, ${perAgent.toFixed(2)} ms/run, ${(runs / (agent / 1000)).toFixed(0)} runs/s`);
  console.log(`  ratio spawnAgent / baseline: ${(agent / raw).toFixed(2)}x (+${(perAgent - perRaw).toFixed(2)} ms per run)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
