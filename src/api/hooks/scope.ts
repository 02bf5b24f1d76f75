import { routedQueues } from '../../config/load.ts';
import type { Config } from '../../config/types.ts';

/** Which repositories and boards a daemon dispatches from: deliveries about anything else are ignored. */
export interface HookScope {
  giteaRepo(fullName: string): boolean;
  plankaBoard(project: string, board: string | undefined): boolean;
}

/** `run`: the routes' queues (`owner/repo[:label]`, `Project.Board.List`); `dispatch-file`: its repos and owner. */
export function hookScopeOf(config: Config, mode: 'run' | 'dispatch-file'): HookScope {
  if (mode === 'dispatch-file') {
    const repos = new Set((config.dispatchFile?.repos ?? []).map((repo) => repo.toLowerCase()));
    const owner = config.dispatchFile?.owner?.toLowerCase();
    return {
      giteaRepo: (fullName) => repos.has(fullName.toLowerCase()) || (owner !== undefined && fullName.toLowerCase().startsWith(`${owner}/`)),
      plankaBoard: () => false,
    };
  }
  const queues = routedQueues(config);
  // Gitea names are case-insensitive; Planka's are matched as written, like the queues themselves.
  const repos = new Set(queues.map((queue) => queue.split(':')[0].toLowerCase()));
  return {
    giteaRepo: (fullName) => repos.has(fullName.toLowerCase()),
    plankaBoard: (project, board) => queues.some((queue) => queue.startsWith(board === undefined ? `${project}.` : `${project}.${board}.`)),
  };
}
