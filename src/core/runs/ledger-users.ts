import { linkSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { realFile } from '../../util/json-file-store.ts';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive } from '../../util/file-lock.ts';
import { lockHost } from '../../util/lock-owner.ts';
import { processStartedAt } from '../process/process-group.ts';

/**
 * Which dispatcher processes use a ledger file, told without reading it (it may be damaged): each
 * process that ever locked it left its lock owner file beside it (`.ledger.json.lock.<pid>.owner`,
 * src/util/lock-owner.ts), removed when it exits. An owner file whose process is alive, on this
 * host, and started before the file was written is a process still using the ledger.
 */
export interface LedgerUsers {
  /** Live processes using the ledger. */
  live: Array<{ pid: number }>;
  /** Why it cannot be told for sure, one line each (another host's process, no hard links). */
  unknown: string[];
}

/** A process started at most this long after its owner file is the one that wrote it (clock granularity). */
const START_SLACK_MS = 1_000;

export function findLedgerUsers(ledgerFile: string): LedgerUsers {
  const file = realFile(ledgerFile);
  const folder = dirname(file);
  const prefix = `.${basename(file)}.lock.`;
  const users: LedgerUsers = { live: [], unknown: [] };
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return users; // no state_dir yet: nobody uses it
  }
  let owners = 0;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.owner')) continue;
    owners++;
    const path = join(folder, name);
    let pid: number;
    let host: string;
    let writtenAt: number;
    try {
      [pid, host] = ((text) => [Number(text[0]), text[1]] as const)(readFileSync(path, 'utf8').split('\n'));
      writtenAt = statSync(path).mtimeMs;
    } catch {
      continue; // gone meanwhile: its process exited
    }
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (host !== lockHost) {
      users.unknown.push(`pid ${pid} on host ${host} locked it; whether it still runs cannot be told from here`);
      continue;
    }
    if (!isProcessAlive(pid)) continue;
    const startedAt = processStartedAt(pid);
    if (startedAt !== undefined && startedAt > writtenAt + START_SLACK_MS) continue; // a later process with a reused pid
    users.live.push({ pid });
  }
  if (owners === 0 && !hasHardLinks(folder)) {
    users.unknown.push(`the file system of ${folder} has no hard links, so dispatchers leave no owner file there`);
  }
  return users;
}

/** Whether `folder` takes hard links (the lock owner files need them). */
function hasHardLinks(folder: string): boolean {
  const probe = join(folder, `.link-probe.${process.pid}`);
  try {
    writeFileSync(probe, '');
    linkSync(probe, `${probe}.link`);
    unlinkSync(`${probe}.link`);
    return true;
  } catch {
    return false;
  } finally {
    try {
      unlinkSync(probe);
    } catch {
      // never made
    }
  }
}
