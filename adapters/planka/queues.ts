import { AdapterError, isAdapterError } from '../../src/errors.ts';
import type { PlankaList, ProjectsResponse } from './api-types.ts';
import type { BoardSnapshot } from './board-snapshot.ts';
import type { PlankaClient } from './client.ts';

/** A queue name matched to exactly one list. */
export interface ResolvedQueue {
  queue: string;
  board: BoardSnapshot;
  list: PlankaList;
}

interface DirectoryBoard {
  id: string;
  /** `Project.Board` */
  name: string;
}

/**
 * Turns `Project.Board.List` names into lists. Names may contain dots, so a queue is matched
 * against the full `project.board.list` of every list, never split. The projects and boards the
 * user can see (GET /api/projects) are read once, and again when a name does not resolve or the
 * copy is older than `directoryMaxAgeMs`; each board involved is read once per call
 * (GET /api/boards/:id), through `fetchBoard`.
 */
export class QueueResolver {
  private directory?: Promise<DirectoryBoard[]>;
  private directoryReadAt = 0;

  constructor(
    private readonly client: PlankaClient,
    private readonly fetchBoard: (boardId: string) => Promise<BoardSnapshot>,
    /** New boards are seen at the latest this long after they appear (or at once when a name misses). */
    private readonly directoryMaxAgeMs: number,
  ) {}

  async resolve(queues: string[]): Promise<ResolvedQueue[]> {
    for (let refresh = false; ; refresh = true) {
      const { boards: directory, fresh } = await this.boards(refresh);
      // A miss is retried once with a fresh directory, unless this one was just read.
      const retry = !fresh;
      const candidates = new Map(queues.map((queue) => [queue, directory.filter((board) => queue.startsWith(`${board.name}.`))]));
      if (retry && [...candidates.values()].some((boards) => boards.length === 0)) continue;
      let snapshots: Map<string, BoardSnapshot>;
      try {
        const ids = [...new Set([...candidates.values()].flat().map((board) => board.id))];
        snapshots = new Map(await Promise.all(ids.map(async (id) => [id, await this.fetchBoard(id)] as const)));
      } catch (error) {
        // A board deleted, or the user removed from it, since the directory was read.
        if (retry && isAdapterError(error, 'not_found')) continue;
        throw error;
      }
      const resolved: ResolvedQueue[] = [];
      const missing: string[] = [];
      for (const queue of queues) {
        const matches = (candidates.get(queue) ?? []).flatMap((board) => {
          const snapshot = snapshots.get(board.id)!;
          return snapshot.lists.filter((list) => snapshot.queueName(list) === queue).map((list) => ({ queue, board: snapshot, list }));
        });
        if (matches.length > 1) {
          throw new AdapterError('invalid', `queue "${queue}" matches ${matches.length} Planka lists (ids ${matches.map((m) => m.list.id).join(', ')}): rename all but one`, { queue });
        }
        if (matches.length === 0) missing.push(queue);
        else resolved.push(matches[0]);
      }
      if (missing.length === 0) return resolved;
      if (retry) continue;
      throw notFoundError(missing[0], directory, [...snapshots.values()], (candidates.get(missing[0]) ?? []).length > 0);
    }
  }

  async resolveOne(queue: string): Promise<ResolvedQueue> {
    return (await this.resolve([queue]))[0];
  }

  /** The cached directory, or a fresh read (`fresh`) when asked, absent or too old. */
  private async boards(refresh: boolean): Promise<{ boards: DirectoryBoard[]; fresh: boolean }> {
    let fresh = false;
    if (refresh || !this.directory || Date.now() - this.directoryReadAt > this.directoryMaxAgeMs) {
      fresh = true;
      this.directoryReadAt = Date.now();
      this.directory = this.readDirectory().catch((error: unknown) => {
        this.directory = undefined;
        throw error;
      });
    }
    return { boards: await this.directory, fresh };
  }

  private async readDirectory(): Promise<DirectoryBoard[]> {
    const response = await this.client.request<ProjectsResponse>('GET', '/api/projects');
    const projects = new Map((response.items ?? []).map((project) => [project.id, project.name]));
    return (response.included?.boards ?? []).flatMap((board) => {
      const project = projects.get(board.projectId);
      return project === undefined ? [] : [{ id: board.id, name: `${project}.${board.name}` }];
    });
  }
}

function notFoundError(queue: string, directory: DirectoryBoard[], snapshots: BoardSnapshot[], boardMatched: boolean): AdapterError {
  if (boardMatched) {
    const lists = snapshots.flatMap((snapshot) => snapshot.lists.flatMap((list) => snapshot.queueName(list) ?? []));
    return new AdapterError('not_found', `no Planka list is named exactly "${queue}"; ${suggest(queue, lists, 'lists')}`, { queue });
  }
  const board = queue.includes('.') ? queue.slice(0, queue.lastIndexOf('.')) : queue;
  return new AdapterError(
    'not_found',
    `no Planka board matches queue "${queue}" (queues are "Project.Board.List", and the dispatcher's user must be a member of the board); ${suggest(board, directory.map((entry) => entry.name), 'boards')}`,
    { queue },
  );
}

/** "close: ..." with the nearest names, or the first few names when none is near. */
function suggest(wanted: string, names: string[], what: string): string {
  if (names.length === 0) return `the user sees no ${what}`;
  const ranked = names.map((name) => ({ name, distance: distance(wanted.toLowerCase(), name.toLowerCase()) })).sort((a, b) => a.distance - b.distance);
  const near = ranked.filter((entry) => entry.distance <= Math.max(3, Math.floor(wanted.length / 3))).slice(0, 3);
  if (near.length > 0) return `close: ${near.map((entry) => `"${entry.name}"`).join(', ')}`;
  return `known ${what}: ${names.slice(0, 10).map((name) => `"${name}"`).join(', ')}${names.length > 10 ? ', ...' : ''}`;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
