import { AdapterError, isAdapterError } from '../../src/errors.ts';
import { repoKey } from './refs.ts';

export type Repo = { owner: string; repo: string };

const FRESH_MS = 60_000;

/**
 * Something read per repository (its labels, its assignees), kept for a minute. `fresh` reads it
 * again: a name we do not know triggers one fresh read before it counts as unknown. A missing
 * repository is a `not_found` that names it.
 */
export function createRepoCache<T>(read: (repo: Repo) => Promise<T>, now: () => number = Date.now) {
  const cache = new Map<string, { value: T; at: number }>();
  return async function load(repo: Repo, fresh: boolean): Promise<T> {
    const key = repoKey(repo);
    const cached = cache.get(key);
    if (cached && !fresh && now() - cached.at < FRESH_MS) return cached.value;
    try {
      const value = await read(repo);
      cache.set(key, { value, at: now() });
      return value;
    } catch (error) {
      if (isAdapterError(error, 'not_found')) {
        throw new AdapterError('not_found', `Gitea: no repository ${repo.owner}/${repo.repo} (or the token may not read it)`, { cause: error, status: error.status });
      }
      throw error;
    }
  };
}
