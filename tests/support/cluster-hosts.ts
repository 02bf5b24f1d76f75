import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';

/**
 * Several hosts of one cluster on this machine: `dispatcher run` processes (the built CLI), each
 * with its own folder, state_dir and DISPATCHER_HOST_ID, on one fake Planka board and one database.
 * Used by tests/postgres/multi-host.test.ts and bench/cluster.ts.
 */
const CLI = join(import.meta.dirname, '../../bin/dispatcher.js');
const SLEEPER = join(import.meta.dirname, '../../fixtures/agents/sleeper.mjs');

export interface ClusterSetup {
  tasks: number;
  /** Seconds each agent sleeps. */
  agentSeconds: number;
  /** `sleep` (coreutils: almost no CPU, so many hosts on one machine measure coordination, not CPU) or the Node sleeper fixture (prints as it goes). */
  agent?: 'sleep' | 'node';
  /** Another agent instead (its command and arguments); agentSeconds is then ignored. */
  agentArgv?: string[];
  slotsPerHost: number;
  clusterCap?: number;
  leaseTtl?: number;
  pollInterval?: number;
  maxAttempts?: number;
  databaseUrl: string;
}

export interface Host {
  id: string;
  dir: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export async function startClusterBoard(tasks: number) {
  const fake = await startFakePlanka({ version: 2 });
  const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x' });
  const board = fake.seed.boardWithLists({ project: 'P', board: 'B', lists: ['Todo', 'Doing', 'Done', 'Failed'], members: [bot] });
  const cards = Array.from({ length: tasks }, (_, index) => fake.seed.card(board.lists.Todo, `task ${index + 1}`));
  const inList = (list: keyof typeof board.lists) => [...fake.store.cards.values()].filter((card) => card.listId === board.lists[list].id).length;
  return { fake, bot, board, cards, inList };
}

/** A host's folder: dispatcher.toml and .env (tracker credentials, the database URL). */
export function hostFolder(setup: ClusterSetup, trackerUrl: string, password: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dispatcher-host-'));
  writeFileSync(join(dir, '.env'), `PLANKA_USER=bot\nPLANKA_PASSWORD=${password}\nDISPATCHER_DATABASE_URL=${setup.databaseUrl}\n`);
  writeFileSync(
    join(dir, 'dispatcher.toml'),
    [
      `poll_interval = ${setup.pollInterval ?? 0.5}`,
      'api_port = 0',
      'kill_grace = 1',
      'retry_delay = 0.2',
      `max_concurrent_agents = ${setup.slotsPerHost}`,
      ...(setup.clusterCap === undefined ? [] : [`cluster_max_concurrent_agents = ${setup.clusterCap}`]),
      '[backend]',
      'type = "planka"',
      `url = "${trackerUrl}"`,
      '[coordination]',
      `lease_ttl = ${setup.leaseTtl ?? 3}`,
      '[routing."P.B.Todo"]',
      ...(setup.agentArgv ? [`command = ${JSON.stringify(setup.agentArgv[0])}`, `args = ${JSON.stringify(setup.agentArgv.slice(1))}`] : setup.agent === 'sleep' ? ['command = "sleep"', `args = ["${setup.agentSeconds}"]`] : [`command = ${JSON.stringify(process.execPath)}`, `args = [${JSON.stringify(SLEEPER)}, "${setup.agentSeconds}"]`]),
      'in_progress_queue = "P.B.Doing"',
      'on_success_queue = "P.B.Done"',
      'on_failure_queue = "P.B.Failed"',
      `max_attempts = ${setup.maxAttempts ?? 3}`,
      '',
    ].join('\n'),
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function startHost(id: string, dir: string, extraEnv: Record<string, string> = {}, args: string[] = []): Host {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('DISPATCHER_')) delete env[key];
  const child = spawn(process.execPath, [CLI, 'run', '--log-format', 'plain', ...args], { cwd: dir, env: { ...env, DISPATCHER_HOST_ID: id, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { id, dir, child, output: () => output, exited };
}

/** SIGTERM, then SIGKILL should the host still run after its drain (a failed test must not hang its cleanup). */
export async function stopHost(host: Host): Promise<void> {
  if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGTERM');
  const timer = setTimeout(() => host.child.kill('SIGKILL'), 45_000);
  await host.exited;
  clearTimeout(timer);
}

/** Occupying runs per host, as the database has them (the cluster's own truth). */
export async function occupyingByHost(db: pg.Client): Promise<Map<string, number>> {
  const { rows } = await db.query<{ host_id: string; n: number }>(`select host_id, count(*)::int as n from dispatcher_runs where status in ('starting', 'running') group by host_id`);
  return new Map(rows.map((row) => [row.host_id, row.n]));
}

/** Samples occupancy every `everyMs` until stopped: the most per host and in all seen at once. */
export function sampleOccupancy(db: pg.Client, everyMs = 100) {
  const most = { perHost: 0, total: 0, samples: 0 };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const byHost = await occupyingByHost(db).catch(() => undefined);
      if (byHost) {
        most.samples++;
        most.perHost = Math.max(most.perHost, ...byHost.values(), 0);
        most.total = Math.max(most.total, [...byHost.values()].reduce((sum, n) => sum + n, 0));
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    most,
    async stop() {
      stopped = true;
      await done;
      return most;
    },
  };
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, withinMs: number, what: string, everyMs = 100): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > withinMs) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return Date.now() - started;
}
