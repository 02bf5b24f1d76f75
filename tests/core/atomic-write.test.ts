import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.ts';
import { tempDir } from '../helpers.ts';

/** Files of `dir` this process holds open (other descriptors of the test runner come and go). */
const openFilesIn = (dir: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false; // closed while we looked
    }
  }).length;

async function settles(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; !check(); await sleep(10)) {
    if (Date.now() > deadline) assert.fail(what);
  }
}

const variants: Array<[string, (path: string, data: string, mode?: number) => unknown]> = [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', writeFileAtomicSync],
];

for (const [name, write] of variants) {
  describe(name, () => {
    it('replaces the file, leaves no temp file, and keeps no file open once the write is done', async () => {
      const dir = tempDir();
      const path = join(dir, 'board.json');
      writeFileSync(path, 'old');
      for (let i = 0; i < 50; i++) await write(path, `version ${i}`);
      assert.equal(readFileSync(path, 'utf8'), 'version 49');
      assert.deepEqual(readdirSync(dir), ['board.json']);
      await settles(() => openFilesIn(dir) === 0, `${openFilesIn(dir)} files still open after the writes`);
    });

    it('creates the file and its folder when missing', async () => {
      const path = join(tempDir(), 'state', 'ledger.json');
      await write(path, '{}');
      assert.equal(readFileSync(path, 'utf8'), '{}');
    });

    it('keeps the permissions of the file it replaces, past the umask; a new file gets the mode given', async () => {
      const dir = tempDir();
      const shared = join(dir, 'board.json');
      writeFileSync(shared, '{}');
      chmodSync(shared, 0o664);
      await write(shared, '{"queues":{}}');
      assert.equal(statSync(shared).mode & 0o777, 0o664);
      const fresh = join(dir, 'ledger.json');
      await write(fresh, '{}', 0o600);
      assert.equal(statSync(fresh).mode & 0o777, 0o600);
    });

    it('replaces a FIFO at the path without waiting for a reader', async () => {
      const path = join(tempDir(), 'board.json');
      assert.equal(spawnSync('mkfifo', [path]).status, 0);
      await write(path, 'a file now');
      assert.equal(readFileSync(path, 'utf8'), 'a file now');
    });
  });
}
