import { AdapterError, isAdapterError } from '../../src/errors.ts';
import type { Comment, Logger, Task, TaskUpdate, TrackerAdapter, WebhookAdmin } from '../types.ts';
import type { BoardResponse, CardResponse, ItemResponse, PlankaCard, PlankaUser } from './api-types.ts';
import { BoardSnapshot } from './board-snapshot.ts';
import { PlankaClient, type PlankaClientOptions } from './client.ts';
import { fetchComments } from './comments.ts';
import { cardToTask, userName, type CardRelations } from './mapping.ts';
import { QueueResolver } from './queues.ts';
import { plankaWebhooks } from './webhooks.ts';

export type PlankaAdapterOptions = PlankaClientOptions & {
  /** How long a board read by a poll may serve getTask/updateTask for names (default 10 s). */
  boardCacheMs?: number;
  /** How long the list of projects and boards is trusted before it is read again (default 5 min). */
  directoryCacheMs?: number;
};

/**
 * The Planka tracker (1.x and 2.x). A poll costs one GET /api/boards/:id per board involved,
 * whatever the number of queues and cards; getTask costs the card, its comments and, unless a
 * recent poll read it, its board.
 */
export class PlankaAdapter implements TrackerAdapter {
  private readonly client: PlankaClient;
  private readonly queues: QueueResolver;
  private readonly boards = new Map<string, BoardSnapshot>();
  private readonly boardCacheMs: number;
  private readonly log: Logger;
  private me?: Promise<PlankaUser>;

  /** Planka 2.x webhooks (admin only). */
  readonly webhooks: WebhookAdmin;

  constructor(options: PlankaAdapterOptions) {
    this.client = new PlankaClient(options);
    this.webhooks = plankaWebhooks(this.client);
    this.queues = new QueueResolver(this.client, (id) => this.fetchBoard(id), options.directoryCacheMs ?? 300_000);
    this.boardCacheMs = options.boardCacheMs ?? 10_000;
    this.log = options.log;
  }

  async getReadyTasks(queueNames: string[]): Promise<Task[]> {
    const unique = [...new Set(queueNames)];
    if (unique.length === 0) return [];
    const resolved = await this.queues.resolve(unique);
    return resolved.flatMap(({ board, list }) => board.cardsIn(list.id).map((card) => cardToTask(card, board, relationsFrom(board, card.id), this.client.baseUrl)));
  }

  async getTask(taskId: string): Promise<Task> {
    checkId(taskId);
    const pendingComments = fetchComments(this.client, taskId);
    pendingComments.catch(() => undefined); // the card's own error, below, is the one to report
    const { card, relations } = await this.fetchCard(taskId);
    const { comments, users } = await pendingComments;
    const board = await this.boardFor(
      card.boardId,
      (snapshot) =>
        snapshot.list(card.listId) !== undefined &&
        relations.memberIds.every((id) => snapshot.users.has(id)) &&
        relations.labelIds.every((id) => snapshot.labels.some((label) => label.id === id)),
    );
    const author = (id: string | null): string => {
      const user = id ? (users.get(id) ?? board.users.get(id)) : undefined;
      return user ? userName(user) : (id ?? 'unknown');
    };
    const taskComments: Comment[] = comments.map((comment) => ({ author: author(comment.userId), text: comment.text, createdAt: comment.createdAt }));
    return cardToTask(card, board, relations, this.client.baseUrl, taskComments);
  }

  async moveTask(taskId: string, targetQueue: string): Promise<void> {
    checkId(taskId);
    const [{ card }, target] = await Promise.all([this.fetchCard(taskId), this.queues.resolveOne(targetQueue)]);
    if (card.listId === target.list.id) return;
    const body: Record<string, unknown> = { listId: target.list.id, position: target.board.bottomPosition(target.list.id) };
    if (card.boardId !== target.board.id) body.boardId = target.board.id;
    await this.client.request('PATCH', `/api/cards/${taskId}`, { body });
  }

  async addComment(taskId: string, text: string): Promise<void> {
    checkId(taskId);
    const routes = await this.client.routes();
    await this.client.request('POST', routes.addComment(taskId), { body: { text } });
  }

  async updateTask(taskId: string, update: TaskUpdate): Promise<void> {
    checkId(taskId);
    if (update.name !== undefined && update.name.trim() === '') throw new AdapterError('invalid', 'a Planka card needs a name');
    const fields: Record<string, unknown> = {};
    if (update.name !== undefined) fields.name = update.name;
    // Planka refuses an empty description (400, v2-26); null clears it (v2-26b).
    if (update.description !== undefined) fields.description = update.description === '' ? null : update.description;

    let plan: RelationPlan | undefined;
    if (update.labels !== undefined || update.assignees !== undefined) plan = await this.planRelations(taskId, update);
    if (Object.keys(fields).length > 0) await this.client.request('PATCH', `/api/cards/${taskId}`, { body: fields });
    if (plan) await this.applyRelations(taskId, plan);
  }

  async createTask(queueName: string, name: string, description: string): Promise<Task> {
    if (name.trim() === '') throw new AdapterError('invalid', 'a Planka card needs a name');
    const target = await this.queues.resolveOne(queueName);
    const routes = await this.client.routes();
    const body: Record<string, unknown> = { ...routes.newCardFields(target.board.defaultCardType), name, position: target.board.bottomPosition(target.list.id) };
    if (description !== '') body.description = description;
    const created = await this.client.request<ItemResponse<PlankaCard>>('POST', `/api/lists/${target.list.id}/cards`, { body });
    return cardToTask(created.item, target.board, { labelIds: [], memberIds: [] }, this.client.baseUrl);
  }

  async whoami(): Promise<string> {
    return userName(await this.currentUser());
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private currentUser(): Promise<PlankaUser> {
    this.me ??= this.client.request<ItemResponse<PlankaUser>>('GET', '/api/users/me').then(
      (response) => response.item,
      (error: unknown) => {
        this.me = undefined;
        throw error;
      },
    );
    return this.me;
  }

  private async fetchBoard(boardId: string): Promise<BoardSnapshot> {
    const snapshot = new BoardSnapshot(await this.client.request<BoardResponse>('GET', `/api/boards/${boardId}`));
    this.boards.set(boardId, snapshot);
    return snapshot;
  }

  /** A recently read board when it still knows what `covers` asks, else a fresh read. */
  private async boardFor(boardId: string, covers: (snapshot: BoardSnapshot) => boolean): Promise<BoardSnapshot> {
    const cached = this.boards.get(boardId);
    if (cached && Date.now() - cached.fetchedAt <= this.boardCacheMs && covers(cached)) return cached;
    return this.fetchBoard(boardId);
  }

  private async fetchCard(taskId: string): Promise<{ card: PlankaCard; relations: CardRelations }> {
    try {
      const response = await this.client.request<CardResponse>('GET', `/api/cards/${taskId}`);
      return {
        card: response.item,
        relations: {
          labelIds: (response.included?.cardLabels ?? []).map((cardLabel) => cardLabel.labelId),
          memberIds: (response.included?.cardMemberships ?? []).map((membership) => membership.userId),
        },
      };
    } catch (error) {
      if (!isAdapterError(error, 'not_found')) throw error;
      throw new AdapterError('not_found', `no Planka card ${taskId} (Planka also says so when the user is not a member of the card's board): ${error.message}`, {
        cause: error,
        status: error.status,
      });
    }
  }

  /** Reads the card and its board and turns names into ids, before anything changes. */
  private async planRelations(taskId: string, update: TaskUpdate): Promise<RelationPlan> {
    const { card, relations } = await this.fetchCard(taskId);
    const knowsAll = (snapshot: BoardSnapshot) =>
      (update.labels ?? []).every((name) => snapshot.labels.some((label) => label.name === name)) &&
      (update.assignees ?? []).every((name) => [...snapshot.users.values()].some((user) => user.username === name));
    const board = await this.boardFor(card.boardId, knowsAll);
    const plan: RelationPlan = { current: relations };
    if (update.labels !== undefined) {
      plan.labelIds = [...new Set(update.labels)].map((name) => {
        const label = board.labels.find((candidate) => candidate.name === name);
        if (!label) throw new AdapterError('invalid', `no label "${name}" on Planka board "${board.projectName}.${board.name}"; its labels: ${quoteList(board.labelNames())}`);
        return label.id;
      });
    }
    if (update.assignees !== undefined) {
      plan.memberIds = [...new Set(update.assignees)].map((name) => {
        const user = [...board.users.values()].find((candidate) => candidate.username === name);
        if (!user) throw new AdapterError('invalid', `"${name}" is not a member of Planka board "${board.projectName}.${board.name}"; its members: ${quoteList(board.usernames())}`);
        return user.id;
      });
    }
    return plan;
  }

  private async applyRelations(taskId: string, plan: RelationPlan): Promise<void> {
    const routes = await this.client.routes();
    const steps: Array<() => Promise<void>> = [];
    if (plan.labelIds) {
      const { add, remove } = difference(plan.current.labelIds, plan.labelIds);
      for (const labelId of add) steps.push(() => this.alreadyIs(409, () => this.client.request('POST', routes.addLabel(taskId), { body: { labelId } })));
      for (const labelId of remove) {
        const { path, body } = routes.removeLabel(taskId, labelId);
        steps.push(() => this.alreadyIs(404, () => this.client.request('DELETE', path, { body })));
      }
    }
    if (plan.memberIds) {
      const { add, remove } = difference(plan.current.memberIds, plan.memberIds);
      for (const userId of add) steps.push(() => this.alreadyIs(409, () => this.client.request('POST', routes.addMember(taskId), { body: { userId } })));
      for (const userId of remove) {
        const { path, body } = routes.removeMember(taskId, userId);
        steps.push(() => this.alreadyIs(404, () => this.client.request('DELETE', path, { body })));
      }
    }
    for (const step of steps) await step();
  }

  /** 409 on an add ("already in card") and 404 on a removal ("not in card") mean it is already so. */
  private async alreadyIs(status: number, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (!isAdapterError(error) || error.status !== status) throw error;
      this.log.debug(`Planka: ${error.message} (already so)`);
    }
  }
}

interface RelationPlan {
  current: CardRelations;
  labelIds?: string[];
  memberIds?: string[];
}

function relationsFrom(board: BoardSnapshot, cardId: string): CardRelations {
  return { labelIds: board.labelIdsOf(cardId), memberIds: board.memberIdsOf(cardId) };
}

function difference(current: string[], wanted: string[]): { add: string[]; remove: string[] } {
  return { add: wanted.filter((id) => !current.includes(id)), remove: current.filter((id) => !wanted.includes(id)) };
}

function quoteList(names: string[]): string {
  return names.length === 0 ? '(none)' : names.map((name) => `"${name}"`).join(', ');
}

/** Planka ids are decimal strings; anything else names no card (and would be a 400 from Planka). */
function checkId(taskId: string): void {
  if (!/^[0-9]{1,40}$/.test(taskId)) throw new AdapterError('not_found', `no Planka card "${taskId}": card ids are numbers`);
}
