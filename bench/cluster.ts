/**
 * Issue 19: several hosts on one board, coordinated through PostgreSQL. 300 cards on a fake Planka
 * board, agents that sleep 1 s, `dispatcher run` (the built CLI: run `npm run build` first) as
 * 1 host × 4 slots, then as 3 hosts × 4 slots: throughput (cards per second, from the first claim to
 * the last card in Done) and its ratio (target ≥ 2.7×), and the database round trips per dispatch
 * (every statement the hosts sent — writes, reads, heartbeats — over the cards dispatched; each host
 * logs its count when it stops).
 *   node scripts/bench.mjs bench/cluster.ts [cards] [agent seconds]
 * Uses DISPATCHER_TEST_DATABASE_URL when set, else a throwaway cluster (scripts/postgres-cluster.mjs).
 */
import pg from 'pg';
// @ts-expect-error: a plain .mjs module shared with scripts/test.mjs
import { startPostgresCluster } from '../scripts/postgres-cluster.mjs';
import { hostFolder, sampleOccupancy, startClusterBoard, startHost, stopHost, waitUntil } from '../tests/support/cluster-hosts.ts';
import { ratio } from './support.ts';

const CARDS = Number(process.argv[2] ?? 300);
const AGENT_SECONDS = Number(process.argv[3] ?? 1);
const SLOTS = 4;

async function database(server: string): Promise<string> {
  const name = `dispatcher_bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.href;
}

interface Round {
  hosts: number;
  ms: number;
  perSecond: number;
  roundTripsPerDispatch: number;
  mostPerHost: number;
}

async function round(server: string, hostCount: number): Promise<Round> {
  const databaseUrl = await database(server);
  const board = await startClusterBoard(CARDS);
  const db = new pg.Client({ connectionString: databaseUrl });
  const folders = Array.from({ length: hostCount }, () => hostFolder({ tasks: CARDS, agentSeconds: AGENT_SECONDS, agent: 'sleep', slotsPerHost: SLOTS, databaseUrl, pollInterval: 1, leaseTtl: 10 }, board.fake.url, board.bot.password));
  const hosts = folders.map((folder, index) => startHost(`h${index + 1}`, folder.dir));
  try {
    await waitUntil(() => board.inList('Todo') < CARDS, 60_000, 'the first claim', 5);
    const started = Date.now();
    await db.connect();
    const sampler = sampleOccupancy(db, 250);
    await waitUntil(() => board.inList('Done') === CARDS, 30 * 60_000, 'every card in Done', 20);
    const ms = Date.now() - started;
    const most = await sampler.stop();
    for (const host of hosts) await stopHost(host);
    const trips = hosts.map((host) => Number(/(\d+) database round trips/.exec(host.output())?.[1] ?? NaN));
    const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from dispatcher_runs`);
    return { hosts: hostCount, ms, perSecond: (CARDS * 1000) / ms, roundTripsPerDispatch: trips.reduce((sum, n) => sum + n, 0) / rows[0].n, mostPerHost: most.perHost };
  } finally {
    for (const host of hosts) await stopHost(host);
    await db.end().catch(() => {});
    await board.fake.close();
    for (const folder of folders) folder.cleanup();
  }
}

let stop = () => {};
let server = process.env.DISPATCHER_TEST_DATABASE_URL;
if (!server) {
  const cluster = (await startPostgresCluster()) as { url: string; stop: () => void };
  server = cluster.url;
  stop = cluster.stop;
}
try {
  console.log(`cluster: ${CARDS} cards, agents sleeping ${AGENT_SECONDS}s, ${SLOTS} slots per host`);
  const one = await round(server, 1);
  console.log(`1 host:  ${(one.ms / 1000).toFixed(1)} s, ${one.perSecond.toFixed(2)} cards/s, ${one.roundTripsPerDispatch.toFixed(1)} round trips per dispatch, at most ${one.mostPerHost} agents on a host`);
  const three = await round(server, 3);
  console.log(`3 hosts: ${(three.ms / 1000).toFixed(1)} s, ${three.perSecond.toFixed(2)} cards/s, ${three.roundTripsPerDispatch.toFixed(1)} round trips per dispatch, at most ${three.mostPerHost} agents on a host`);
  console.log(`throughput 3 hosts / 1 host: ${ratio(three.perSecond, one.perSecond)} (target ≥ 2.70×); ideal ${(SLOTS * 3) / SLOTS}×`);
} finally {
  stop();
}
