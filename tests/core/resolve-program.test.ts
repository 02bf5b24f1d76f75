import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveProgram } from '../../src/core/process/exit-status.ts';
import { tempDir } from './spawner-support.ts';

/** The program a waiter runs is looked up on PATH once per burst of dispatches, not once per run. */
describe('resolveProgram: what was found is remembered for a second', () => {
  const dir = tempDir();
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  mkdirSync(first);
  mkdirSync(second);
  const path = `${first}:${second}`;
  const install = (folder: string, name: string) => {
    writeFileSync(join(folder, name), '#!/bin/sh\n');
    chmodSync(join(folder, name), 0o755);
  };
  // A clock of the test's own, far from any second the other tests' look-ups fell in.
  const start = Date.now() + 3_600_000;

  it('finds a program once, and again after a second: a newer one earlier on PATH is seen then', () => {
    install(second, 'agent-a');
    assert.equal(resolveProgram('agent-a', path, dir, start), join(second, 'agent-a'));
    install(first, 'agent-a');
    assert.equal(resolveProgram('agent-a', path, dir, start + 999), join(second, 'agent-a'), 'remembered within the second');
    assert.equal(resolveProgram('agent-a', path, dir, start + 1_000), join(first, 'agent-a'), 'looked up again after it');
  });

  it('looks up every time what it did not find, and tells PATHs and working folders apart', () => {
    const now = start + 5_000;
    assert.throws(() => resolveProgram('agent-b', path, dir, now), /command not found: agent-b/);
    install(second, 'agent-b');
    assert.equal(resolveProgram('agent-b', path, dir, now), join(second, 'agent-b'), 'a miss is not remembered');
    assert.throws(() => resolveProgram('agent-b', first, dir, now), /command not found: agent-b/, 'another PATH is another look-up');
    assert.equal(resolveProgram('agent-b', 'second', dir, now), join(second, 'agent-b'), 'a relative PATH entry from this working folder');
    assert.throws(() => resolveProgram('agent-b', 'second', first, now), /command not found/, 'the same entry from another folder');
  });
});
