import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
// @ts-expect-error: a plain .mjs module shared with scripts/test.mjs
import { startPostgresCluster } from '../../scripts/postgres-cluster.mjs';

let server: Promise<string> | undefined;

/**
 * The server the tests use: DISPATCHER_TEST_DATABASE_URL (scripts/test.mjs starts one throwaway
 * cluster for the whole run and sets it), else a cluster of this test file's own.
 */
function serverUrl(): Promise<string> {
  server ??= (async () => {
    if (process.env.DISPATCHER_TEST_DATABASE_URL) return process.env.DISPATCHER_TEST_DATABASE_URL;
    const cluster = (await startPostgresCluster()) as { url: string; stop: () => void };
    process.on('exit', cluster.stop);
    return cluster.url;
  })();
  return server;
}

/** A fresh, empty database for one test (dropped when the test file ends). */
export async function freshDatabase(): Promise<string> {
  const server = await serverUrl();
  const name = `dispatcher_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  after(async () => {
    const dropper = new pg.Client({ connectionString: server });
    await dropper.connect();
    await dropper.query(`drop database if exists ${name} with (force)`);
    await dropper.end();
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.href;
}

/** A connected client closed when the test file ends. */
export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // The database is dropped with force at the end: its connections are ended from the server side.
  client.on('error', () => {});
  await client.connect();
  after(() => client.end().catch(() => {}));
  return client;
}

/**
 * A cluster of this test file's own, never the run's shared one, for a test that restarts the
 * server (the other files use the shared one meanwhile). Stopped and removed when the file ends.
 */
export async function ownCluster(): Promise<{ url: string; restart: (options?: { downMs?: number }) => Promise<void> }> {
  const cluster = (await startPostgresCluster()) as { url: string; stop: () => void; restart: (options?: { downMs?: number }) => Promise<void> };
  process.on('exit', cluster.stop);
  after(() => {
    process.off('exit', cluster.stop);
    cluster.stop();
  });
  return cluster;
}
