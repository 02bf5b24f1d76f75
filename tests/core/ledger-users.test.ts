import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir, waitFor } from '../helpers.ts';
import { findLedgerUsers } from '../../src/core/runs/ledger-users.ts';
import { withFileLock } from '../../src/util/file-lock.ts';
import { processStartTicks } from '../../src/core/process/process-group.ts';

const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
after(() => sleeper.kill('SIGKILL'));

/** The owner file a process leaves beside the ledger once it has locked it (src/util/lock-owner.ts). */
function ownerFile(dir: string, pid: number, host = hostname(), writtenAt?: Date): void {
  const file = join(dir, `.ledger.json.lock.${pid}.owner`);
  writeFileSync(file, `${pid}\n${host}\nsome-uuid\n`);
  if (writtenAt) utimesSync(file, writtenAt, writtenAt);
}

describe('who uses a ledger, told without reading it', () => {
  it('a live process that wrote its owner file uses it; a dead one, a reused pid, and ourselves do not; another host cannot be told', async () => {
    await waitFor(() => processStartTicks(sleeper.pid!), 5_000, 'the sleeper started');
    const dir = tempDir();
    const ledger = join(dir, 'ledger.json');
    assert.deepEqual(findLedgerUsers(ledger), { live: [], unknown: [] });

    ownerFile(dir, sleeper.pid!);
    assert.deepEqual(findLedgerUsers(ledger).live, [{ pid: sleeper.pid }]);

    // The same pid, but the file is older than the process: a later process reused the pid.
    ownerFile(dir, sleeper.pid!, hostname(), new Date(Date.now() - 3_600_000));
    assert.deepEqual(findLedgerUsers(ledger).live, []);

    const gone = spawn('true');
    await new Promise((resolve) => gone.on('exit', resolve));
    ownerFile(dir, gone.pid!);
    await withFileLock(ledger, async () => {
      // Our own owner file is there now too.
      const users = findLedgerUsers(ledger);
      assert.deepEqual(users.live, []);
      assert.deepEqual(users.unknown, []);
    });

    ownerFile(dir, 4242, 'elsewhere');
    const users = findLedgerUsers(ledger);
    assert.equal(users.unknown.length, 1);
    assert.match(users.unknown[0], /pid 4242 on host elsewhere/);
  });
});
