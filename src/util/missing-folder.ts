import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';

/**
 * Runs `create`, which makes a file in `folder`; if the folder is missing, makes it and runs
 * `create` again. The folder is made when the first file finds it missing, instead of being asked
 * for before every file.
 */
export async function inFolder<T>(folder: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(folder, { recursive: true });
    return create();
  }
}

/** {@link inFolder}, synchronously. */
export function inFolderSync<T>(folder: string, create: () => T): T {
  try {
    return create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(folder, { recursive: true });
    return create();
  }
}
