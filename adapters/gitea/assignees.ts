import { AdapterError } from '../../src/errors.ts';
import type { GiteaClient, GiteaUser } from './client.ts';
import { repoPath } from './refs.ts';
import { createRepoCache, type Repo } from './repo-cache.ts';

/**
 * Who can be assigned a repository's issues (GET /repos/{o}/{r}/assignees: users with write
 * access). Logins are checked here first: Gitea answers 500 to a login without access, and only
 * after it has removed the issue's assignees. A login we do not know triggers one fresh read.
 */
export function createAssigneeDirectory(client: GiteaClient, now: () => number = Date.now) {
  const load = createRepoCache(async (repo) => {
    const users = await client.get<GiteaUser[]>(`${repoPath(repo)}/assignees`);
    if (!Array.isArray(users)) throw new AdapterError('bad_response', `Gitea: the assignees of ${repo.owner}/${repo.repo} are not a list`);
    return users.map((user) => user.login).filter((login): login is string => typeof login === 'string');
  }, now);

  const match = (logins: string[], login: string) => logins.find((known) => known.toLowerCase() === login.toLowerCase());

  return {
    /** The logins as Gitea spells them; one that cannot be assigned is an `invalid` AdapterError naming who can. */
    async check(repo: Repo, wanted: string[]): Promise<string[]> {
      let logins = await load(repo, false);
      if (wanted.some((login) => !match(logins, login))) logins = await load(repo, true);
      const outsiders = wanted.filter((login) => !match(logins, login));
      if (outsiders.length > 0) {
        throw new AdapterError(
          'invalid',
          `Gitea: ${outsiders.map((login) => `"${login}"`).join(', ')} cannot be assigned issues of ${repo.owner}/${repo.repo} (not a user with write access); who can: ${logins.join(', ') || '(nobody)'}; nothing was changed`,
        );
      }
      return wanted.map((login) => match(logins, login)!);
    },
  };
}
