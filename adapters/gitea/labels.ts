import { AdapterError, type AdapterErrorKind } from '../../src/errors.ts';
import type { GiteaClient, GiteaLabel } from './client.ts';
import { repoKey, repoPath } from './refs.ts';

type Repo = { owner: string; repo: string };

const FRESH_MS = 60_000;

/**
 * A repository's labels by name. Gitea 1.15 takes label ids only, so every name we send is
 * looked up here; a name we do not know triggers one fresh read before it counts as unknown.
 */
export function createLabelDirectory(client: GiteaClient, now: () => number = Date.now) {
  const cache = new Map<string, { labels: GiteaLabel[]; at: number }>();

  async function load(repo: Repo, fresh: boolean): Promise<GiteaLabel[]> {
    const key = repoKey(repo);
    const cached = cache.get(key);
    if (cached && !fresh && now() - cached.at < FRESH_MS) return cached.labels;
    try {
      const labels = await client.getAll<GiteaLabel>(`${repoPath(repo)}/labels`);
      cache.set(key, { labels, at: now() });
      return labels;
    } catch (error) {
      if (error instanceof AdapterError && error.kind === 'not_found') {
        throw new AdapterError('not_found', `Gitea: no repository ${repo.owner}/${repo.repo} (or the token may not read it)`, { cause: error, status: error.status });
      }
      throw error;
    }
  }

  function match(labels: GiteaLabel[], name: string): GiteaLabel | undefined {
    const exact = labels.find((label) => label.name === name);
    if (exact) return exact;
    const loose = labels.filter((label) => label.name.toLowerCase() === name.toLowerCase());
    return loose.length === 1 ? loose[0] : undefined;
  }

  return {
    /** The label, or undefined when the repository has none by that name. */
    async find(repo: Repo, name: string): Promise<GiteaLabel | undefined> {
      return match(await load(repo, false), name) ?? match(await load(repo, true), name);
    },
    /** Label ids for names; an unknown name is an AdapterError of `kind` listing the repository's labels. */
    async ids(repo: Repo, names: string[], kind: AdapterErrorKind): Promise<number[]> {
      let labels = await load(repo, false);
      if (names.some((name) => !match(labels, name))) labels = await load(repo, true);
      const unknown = names.filter((name) => !match(labels, name));
      if (unknown.length > 0) {
        const known = labels.map((label) => label.name);
        throw new AdapterError(
          kind,
          `Gitea: ${repo.owner}/${repo.repo} has no label ${unknown.map((name) => `"${name}"`).join(', ')}; its labels: ${known.length ? known.join(', ') : '(none)'}`,
        );
      }
      return [...new Set(names.map((name) => match(labels, name)!.id))];
    },
  };
}

export type LabelDirectory = ReturnType<typeof createLabelDirectory>;
