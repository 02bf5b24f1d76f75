import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir, waitFor } from '../helpers.ts';
import { chooseLeader, findRunAgents } from '../../src/core/process/run-agents.ts';
import { hashToken } from '../../src/core/runs/run-token.ts';

const groups: number[] = [];
after(() => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

/** A stand-in agent: a group of its own (a sleeping shell with a child), the run's variables, its output where `output` says. */
function startAgent(env: Record<string, string>, output: string): number {
  const fd = openSync(output, 'a');
  const child = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], { env: { PATH: process.env.PATH ?? '', ...env }, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  groups.push(child.pid!);
  return child.pid!;
}

function stateDir(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'runs'), { recursive: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'dispatcher'), '#!/bin/sh\n');
  return dir;
}

describe('finding the live agents of a state_dir', () => {
  it("finds each group by its run id, hashes its token, and tells this state_dir's agents from another's", async () => {
    const [mine, theirs] = [stateDir(), stateDir()];
    const [logged, launched, foreign] = ['logged', 'launched', 'foreign'].map((name) => `${name}-${randomBytes(4).toString('hex')}`);
    const token = `dsp_${randomBytes(8).toString('hex')}`;
    const loggedPid = startAgent({ DISPATCHER_RUN_ID: logged, DISPATCHER_TASK_ID: '7', DISPATCHER_TOKEN: token, DISPATCHER_ATTEMPT: '2' }, join(mine, 'runs', `${logged}.log`));
    // Output elsewhere, but the launcher of this state_dir.
    const launchedPid = startAgent({ DISPATCHER_RUN_ID: launched, DISPATCHER_BIN: join(mine, 'bin', 'dispatcher') }, join(tempDir(), 'out.log'));
    startAgent({ DISPATCHER_RUN_ID: foreign, DISPATCHER_BIN: join(theirs, 'bin', 'dispatcher') }, join(theirs, 'runs', `${foreign}.log`));

    const found = await waitFor(() => {
      const scan = findRunAgents(mine);
      return scan.agents.length === 2 ? scan : undefined;
    }, 10_000, 'two agents found');
    assert.equal(found.scanned, true);
    const byRun = new Map(found.agents.map((agent) => [agent.runId, agent]));
    assert.deepEqual([...byRun.keys()].sort(), [launched, logged].sort(), 'the other state_dir keeps its agent');
    const agent = byRun.get(logged)!;
    assert.equal(agent.pid, loggedPid, 'the group leader, not its child');
    assert.equal(agent.pgid, loggedPid);
    assert.match(agent.startTicks, /^\d+$/);
    assert.equal(agent.tokenHash, hashToken(token));
    assert.equal(agent.vars.DISPATCHER_TOKEN, undefined, 'the token itself is not kept');
    assert.deepEqual([agent.vars.DISPATCHER_TASK_ID, agent.vars.DISPATCHER_ATTEMPT], ['7', '2']);
    assert.deepEqual(agent.otherGroups, []);
    assert.equal(byRun.get(launched)!.pid, launchedPid);
    assert.equal(byRun.get(launched)!.tokenHash, undefined);
    assert.deepEqual(findRunAgents(theirs).agents.map((found) => found.runId), [foreign]);
  });
});

it('the waiter is the leader started first, even when pids wrapped around and a setsid child has the lower pid', () => {
  const waiter = { pid: 32766, pgid: 32766, startTicks: '1000' };
  const agent = { pid: 32767, pgid: 32766, startTicks: '1001' };
  const child = { pid: 312, pgid: 312, startTicks: '1005' };
  assert.equal(chooseLeader([child, waiter, agent]), waiter);
  assert.equal(chooseLeader([child, agent]).pid, 312, 'without the waiter, a leader left');
  assert.equal(chooseLeader([agent]).pid, 32767);
});
