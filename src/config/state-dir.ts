import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { Config } from './types.ts';

/**
 * `state_dir` must be a folder, or not exist yet under a folder: a file there (or a file where a
 * parent folder should be) is a config error, said in one line, before anything reads the ledger.
 */
export function checkStateDir(config: Pick<Config, 'stateDir' | 'file'>): void {
  for (let path = config.stateDir; ; path = dirname(path)) {
    let isFolder: boolean;
    try {
      isFolder = statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) continue; // made on first use, unless a file is in the way
      throw new ConfigError(`${config.file ?? 'config'}: state_dir: cannot use ${config.stateDir}: ${(error as Error).message}`, { cause: error });
    }
    if (isFolder) return;
    const where = path === config.stateDir ? `${path} is a file, not a folder` : `${path} (on the way to ${config.stateDir}) is a file, not a folder`;
    throw new ConfigError(`${config.file ?? 'config'}: state_dir: ${where}; point state_dir at a folder`);
  }
}
