import { AdapterError, type AdapterErrorKind } from '../../src/errors.ts';
import type { GiteaClient, GiteaLabel } from './client.ts';
import { repoPath } from './refs.ts';
import { createRepoCache, type Repo } from './repo-cache.ts';

/**
 * A repository's labels by name. Gitea 1.15 takes label ids only, so every name we send is
 * looked up here; a name we do not know triggers one fresh read before it counts as unknown.
 */
export function createLabelDirectory(client: GiteaClient, now: () => number = Date.now) {
  const load = createRepoCache((repo) => client.getAll<GiteaLabel>(`${repoPath(repo)}/labels`), now);

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
