// Stops a throwaway PostgreSQL cluster (scripts/postgres-cluster.mjs) once the process that started
// it is gone, even when that process was killed without a chance to clean up.
// Usage: node postgres-watchdog.mjs <owner pid> <pg_ctl> <data dir> <cluster folder> [<run as user>]
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const [owner, pgCtl, data, dir, user] = process.argv.slice(2);

function alive(pid) {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const timer = setInterval(() => {
  if (alive(owner)) return;
  clearInterval(timer);
  const args = ['-D', data, '-m', 'immediate', 'stop'];
  spawnSync(user ? 'runuser' : pgCtl, user ? ['-u', user, '--', pgCtl, ...args] : args, { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}, 500);
