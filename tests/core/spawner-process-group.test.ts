import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isProcessGroupAlive, killProcessGroup, processStartTicks, terminateProcessGroup, waitForGroupExit } from '../../src/core/process/process-group.ts';
import { track, waitFor } from './spawner-support.ts';

function startGroup(script: string) {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  track({ pgid: child.pid });
  return { child, pgid: child.pid! };
}

/** Bit 15 (SIGTERM) of the ignored-signals mask in /proc/<pid>/status. */
function ignoresTerm(pid: number): boolean {
  const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
}

describe('process groups', () => {
  it('refuses ids that would signal our own group or every process', () => {
    for (const bad of [0, 1, -1, -42, 1.5, Number.NaN]) {
      assert.throws(() => killProcessGroup(bad, 'SIGTERM'), RangeError, `pgid ${bad}`);
      assert.throws(() => isProcessGroupAlive(bad), RangeError, `pgid ${bad}`);
    }
  });

  it('sees a live group, signals it, and sees it gone', async () => {
    const { child, pgid } = startGroup('sleep 60 & sleep 60; wait');
    assert.equal(isProcessGroupAlive(pgid), true);
    const exited = once(child, 'exit');
    assert.equal(killProcessGroup(pgid, 'SIGTERM'), true);
    await exited;
    assert.equal(await waitForGroupExit(pgid, 5000), true);
    assert.equal(isProcessGroupAlive(pgid), false);
    const neverUsed = 2 ** 22 + 1000; // above the largest pid Linux hands out
    assert.equal(killProcessGroup(neverUsed, 'SIGTERM'), false, 'nothing to signal');
    assert.equal(isProcessGroupAlive(neverUsed), false);
  });

  it('does not count zombies as alive (an init that never reaps must not make a group immortal)', async () => {
    // The leader exits while its background child has already exited unreaped: the child stays a
    // zombie in the group until some init reaps it, which on some hosts never happens.
    const { child, pgid } = startGroup('sleep 0.1 & exec sleep 0.5');
    await once(child, 'exit');
    assert.equal(await waitForGroupExit(pgid, 5000), true);
  });

  it('terminateProcessGroup: TERM suffices for a plain group; a TERM-ignoring one gets KILL after the grace', async () => {
    const plain = startGroup('sleep 60 & sleep 60; wait');
    assert.deepEqual(await terminateProcessGroup(plain.pgid, { graceMs: 3000 }), { killed: false, gone: true });

    const stubborn = startGroup("trap '' TERM; sleep 60 & sleep 60; wait");
    await waitFor('the shell to ignore TERM', () => (ignoresTerm(stubborn.pgid) ? true : undefined));
    const started = Date.now();
    assert.deepEqual(await terminateProcessGroup(stubborn.pgid, { graceMs: 300 }), { killed: true, gone: true });
    assert.ok(Date.now() - started >= 290, 'the grace was granted');
    assert.equal(isProcessGroupAlive(stubborn.pgid), false);
    assert.deepEqual(await terminateProcessGroup(stubborn.pgid, { graceMs: 300 }), { killed: false, gone: true }, 'a gone group is fine');
  });

  it('reads a process start time, to tell an adopted agent from a reused pid', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
    assert.match(processStartTicks(process.pid) ?? '', /^\d+$/);
    assert.equal(processStartTicks(2 ** 22 + 12345), undefined);
  });
});
