// A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a free loopback port,
// no fsync, trust authentication on loopback only. initdb refuses to run as root, so as root the
// server runs as `nobody`. Used by scripts/test.mjs (one cluster for the whole run) and by test files
// run on their own (tests/support/postgres.ts).
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the server binaries are: DISPATCHER_PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir() {
  if (process.env.DISPATCHER_PG_BIN) return process.env.DISPATCHER_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : '';
}

/**
 * The folder holding initdb and pg_ctl. Missing binaries fail loudly: the PostgreSQL tests are
 * never skipped.
 */
function requirePostgresBinDir() {
  const bin = postgresBinDir();
  const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
  if (bin ? existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')) : onPath('initdb') && onPath('pg_ctl')) return bin;
  throw new Error(
    `the PostgreSQL server binaries (initdb, pg_ctl) were not found ${bin ? `in ${bin}` : 'in /usr/lib/postgresql/*/bin nor on PATH'}: ` +
      'install them (Debian: apt-get install postgresql), or set DISPATCHER_PG_BIN to their folder, ' +
      'or DISPATCHER_TEST_DATABASE_URL to a server the tests may create databases on',
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a server binary, as `nobody` when we are root. */
function runAs(user, bin, args) {
  const command = user ? 'runuser' : bin;
  const argv = user ? ['-u', user, '--', bin, ...args] : args;
  const result = spawnSync(command, argv, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${bin.split('/').pop()} failed (${result.error?.message ?? `exit ${result.status}`}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
  }
}

/** The same, without blocking the event loop (a test's fake servers keep answering meanwhile). */
function runAsAsync(user, bin, args) {
  return new Promise((resolve, reject) => {
    execFile(user ? 'runuser' : bin, user ? ['-u', user, '--', bin, ...args] : args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${bin.split('/').pop()} failed (${error.code ?? error.message}): ${(stderr || stdout).trim().slice(-2000)}`));
      else resolve();
    });
  });
}

/**
 * Starts a cluster and returns its URL and a stop function. The folder is removed on stop.
 * `restart({ downMs })` stops the server (`pg_ctl stop -m fast`: connections are ended, as in a real
 * restart), keeps it down for `downMs`, and starts it again on the same port and data folder; the
 * watchdog still stops it and removes the folder should this process be killed meanwhile.
 * @returns {Promise<{ url: string, stop: () => void, restart: (options?: { downMs?: number }) => Promise<void> }>}
 */
export async function startPostgresCluster() {
  const bin = requirePostgresBinDir();
  const tool = (name) => (bin ? join(bin, name) : name);
  const user = userInfo().uid === 0 ? 'nobody' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'dispatcher-pg-'));
  if (user) {
    const id = (flag) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  // pg_ctl detaches the server: should this process be killed outright (no exit handler runs), the
  // watchdog stops the server and removes the folder once it sees this process gone.
  const watchdog = spawn(process.execPath, [fileURLToPath(new URL('./postgres-watchdog.mjs', import.meta.url)), String(process.pid), tool('pg_ctl'), data, dir, user ?? ''], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  const stop = () => {
    if (watchdog.pid) {
      try {
        process.kill(watchdog.pid);
      } catch {
        // already gone
      }
    }
    spawnSync(user ? 'runuser' : tool('pg_ctl'), user ? ['-u', user, '--', tool('pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const startArgs = ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start'];
  try {
    runAs(user, tool('initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    runAs(user, tool('pg_ctl'), startArgs);
  } catch (error) {
    stop();
    throw error;
  }
  const restart = async ({ downMs = 0 } = {}) => {
    await runAsAsync(user, tool('pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await runAsAsync(user, tool('pg_ctl'), startArgs);
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop, restart };
}
