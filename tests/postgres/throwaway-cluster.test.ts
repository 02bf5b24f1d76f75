import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { ROOT, tempDir, writeFile } from '../helpers.ts';

// scripts/test.mjs itself: one cluster for the run, handed over in DISPATCHER_TEST_DATABASE_URL,
// gone afterwards whatever way the run ends.

const INNER_TEST = `
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
test('inner', async () => {
  const url = process.env.DISPATCHER_TEST_DATABASE_URL;
  writeFileSync(process.env.INNER_OUT, url ?? '');
  await new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => resolve(socket.destroy()));
    socket.on('error', reject);
  });
  if (process.env.INNER_MODE === 'fail') throw new Error('failing on purpose');
  if (process.env.INNER_MODE === 'hang') await new Promise(() => setInterval(() => {}, 1000));
});
`;

interface Run {
  child: ReturnType<typeof spawn>;
  /** The folder the run's cluster lives in (TMPDIR of the run): empty once it is cleaned up. */
  tmp: string;
  out: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

function runTestScript(mode: string, extraEnv: Record<string, string> = {}): Run {
  const dir = tempDir();
  const tmp = join(dir, 'tmp');
  const inner = writeFile(dir, 'inner.test.mjs', INNER_TEST);
  const out = join(dir, 'url');
  // The cluster folder is made inside; as root the server runs as `nobody`, who must get through.
  mkdirSync(tmp);
  chmodSync(dir, 0o755);
  chmodSync(tmp, 0o755);
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp, INNER_OUT: out, INNER_MODE: mode, ...extraEnv };
  delete env.DISPATCHER_TEST_DATABASE_URL;
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'test.mjs'), inner], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, tmp, out, done };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function urlOf(run: Run): string {
  return existsSync(run.out) ? readFileSync(run.out, 'utf8') : '';
}

test('one cluster for the run, handed over in DISPATCHER_TEST_DATABASE_URL and removed after it', async () => {
  const run = runTestScript('pass');
  const result = await run.done;
  assert.equal(result.code, 0, result.output);
  const url = urlOf(run);
  assert.match(url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  assert.equal(await listening(Number(new URL(url).port)), false, 'the server is stopped');
  assert.deepEqual(readdirSync(run.tmp), [], 'the cluster folder is removed');
});

test('a failing run exits 1 and still removes the cluster', async () => {
  const run = runTestScript('fail');
  const result = await run.done;
  assert.equal(result.code, 1, result.output);
  assert.equal(await listening(Number(new URL(urlOf(run)).port)), false);
  assert.deepEqual(readdirSync(run.tmp), []);
});

test('Ctrl-C stops the tests, then the cluster', async () => {
  const run = runTestScript('hang');
  await waitFor(() => urlOf(run) !== '', 'the inner test to start');
  await waitFor(() => readdirSync(run.tmp).length === 1, 'the cluster folder');
  process.kill(-run.child.pid!, 'SIGINT');
  const result = await run.done;
  assert.deepEqual([result.code, result.signal], [1, null], 'the runner waited for node --test, then exited itself');
  assert.equal(await listening(Number(new URL(urlOf(run)).port)), false);
  assert.deepEqual(readdirSync(run.tmp), []);
});

test('killed outright, the runner leaves a watchdog that stops the cluster', async () => {
  const run = runTestScript('hang');
  await waitFor(() => urlOf(run) !== '', 'the inner test to start');
  const port = Number(new URL(urlOf(run)).port);
  process.kill(run.child.pid!, 'SIGKILL');
  await new Promise((resolve) => run.child.once('exit', resolve));
  process.kill(-run.child.pid!, 'SIGKILL'); // the orphaned node --test and its test process
  await run.done;
  await waitFor(() => readdirSync(run.tmp).length === 0, 'the watchdog to remove the cluster folder');
  assert.equal(await listening(port), false);
});

test('missing server binaries fail loudly, saying how to install them', async () => {
  const run = runTestScript('pass', { DISPATCHER_PG_BIN: '/nonexistent/postgresql/bin' });
  const result = await run.done;
  assert.equal(result.code, 1);
  assert.match(result.output, /PostgreSQL server binaries \(initdb, pg_ctl\) were not found in \/nonexistent\/postgresql\/bin: install them \(Debian: apt-get install postgresql\)/);
  assert.equal(urlOf(run), '', 'no test ran');
  assert.deepEqual(readdirSync(run.tmp), []);
});
