import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../../util/atomic-write.ts';

/**
 * The command agents run to reach this CLI: `<state_dir>/bin/dispatcher`, a two-line sh launcher of
 * this very node and this very build. Agents get its path as DISPATCHER_BIN and its folder first on
 * PATH. One word, absolute, so it survives what agents do to their environment: Codex runs commands
 * in a login shell whose profile resets PATH, and a `dispatcher` installed outside the standard
 * folders is not found there. Written once per process, and only when its text changed.
 */
export interface DispatcherBin {
  /** The launcher's absolute path (DISPATCHER_BIN). */
  path: string;
  /** Its folder, put first on the agents' PATH so that plain `dispatcher` is this one too. */
  dir: string;
}

const made = new Map<string, DispatcherBin | undefined>();

export function dispatcherBin(stateDir: string): DispatcherBin | undefined {
  if (made.has(stateDir)) return made.get(stateDir);
  const script = findLauncher();
  let bin: DispatcherBin | undefined;
  if (script) {
    const dir = join(stateDir, 'bin');
    const path = join(dir, 'dispatcher');
    const text = `#!/bin/sh\nexec ${shellWord(process.execPath)} ${shellWord(script)} "$@"\n`;
    try {
      if (readOrEmpty(path) !== text) {
        mkdirSync(dir, { recursive: true });
        writeFileAtomicSync(path, text, 0o755);
      }
      chmodSync(path, 0o755);
      bin = { path, dir };
    } catch {
      // Agents then go without it (DISPATCHER_BIN unset); the state folder's own errors show elsewhere.
    }
  }
  made.set(stateDir, bin);
  return bin;
}

/** `bin/dispatcher.js` of this package, whether running from dist/ (built) or src/ (tests). */
function findLauncher(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    const candidate = join(dir, 'bin', 'dispatcher.js');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
