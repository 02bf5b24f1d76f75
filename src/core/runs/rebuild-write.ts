import { closeSync, constants, copyFileSync, fsyncSync, linkSync, openSync } from 'node:fs';
import { realFile } from '../../util/json-file-store.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { withFileLock } from '../../util/file-lock.ts';
import { UsageError } from '../../errors.ts';
import { findLedgerUsers } from './ledger-users.ts';
import { readLedgerState, rebuiltLedger, type RebuildPlan } from './rebuild.ts';

/**
 * Writes a rebuild's plan, under the ledger's lock: the file found there is kept under a new name
 * first (a hard link, or a copy where links are not to be had), then the new ledger replaces it
 * atomically. `ledger.json` is never missing on the way: a process that dies halfway leaves the old
 * file in place (and perhaps its kept copy too), and the rebuild can simply be run again.
 */
export async function writeRebuild(plan: RebuildPlan, now = new Date()): Promise<{ keptAs?: string }> {
  const file = realFile(plan.ledgerFile);
  return withFileLock(file, async () => {
    const users = findLedgerUsers(file);
    if (users.live.length > 0) throw inUse(plan.ledgerFile, users.live[0].pid);
    if (readLedgerState(file).text !== plan.text) {
      throw new UsageError(`the ledger ${plan.ledgerFile} changed while the rebuild looked at the agents and the tracker; nothing was changed: run it again`);
    }
    let keptAs: string | undefined;
    if (plan.found.state !== 'missing') {
      keptAs = `${file}.${plan.found.state === 'damaged' ? 'damaged' : 'replaced'}-${now.toISOString()}`;
      keep(file, keptAs);
    }
    await writeFileAtomic(file, `${JSON.stringify(rebuiltLedger(plan))}\n`, 0o600);
    return { keptAs };
  });
}

export function inUse(ledgerFile: string, pid: number): UsageError {
  return new UsageError(`a dispatcher process (pid ${pid}) still uses the ledger ${ledgerFile}; nothing was changed: stop it first (a rebuild replaces what it is writing)`);
}

function keep(file: string, as: string): void {
  try {
    linkSync(file, as);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw error;
  }
  copyFileSync(file, as, constants.COPYFILE_EXCL);
  const fd = openSync(as, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
