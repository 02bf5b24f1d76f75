// Runs every test file through tsx. Node 20 does not expand globs in `node --test`, so we list them.
// One throwaway PostgreSQL cluster serves the whole run (unless DISPATCHER_TEST_DATABASE_URL names a
// server already): started before the tests, stopped and removed after them, on failure and on Ctrl-C.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { startPostgresCluster } from './postgres-cluster.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const only = process.argv.slice(2);
const files = (only.length > 0 ? only : find('tests')).sort();
if (files.length === 0) {
  console.error('no test files found under tests/');
  process.exit(1);
}

let cluster;
if (!process.env.DISPATCHER_TEST_DATABASE_URL) {
  try {
    cluster = await startPostgresCluster();
  } catch (error) {
    console.error(`cannot start the throwaway PostgreSQL for the tests: ${error.message}`);
    process.exit(1);
  }
}
process.on('exit', () => cluster?.stop());

const env = cluster ? { ...process.env, DISPATCHER_TEST_DATABASE_URL: cluster.url } : process.env;
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files], { stdio: 'inherit', env });
// Ctrl-C reaches the test runner too (same process group); we wait for it to end, then clean up.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (signal !== 'SIGINT') child.kill(signal);
  });
}
child.on('error', (error) => {
  console.error(`cannot run node --test: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
