import type { Comment, Task } from '../types.ts';
import type { PlankaCard, PlankaUser } from './api-types.ts';
import type { BoardSnapshot } from './board-snapshot.ts';

/** A card's labels and members, as label and user ids. */
export interface CardRelations {
  labelIds: string[];
  memberIds: string[];
}

/** A card as a Task: names instead of ids, the queue as `Project.Board.List`, the web link. */
export function cardToTask(card: PlankaCard, board: BoardSnapshot, relations: CardRelations, baseUrl: string, comments: Comment[] = []): Task {
  const creator = card.creatorUserId ? board.users.get(card.creatorUserId) : undefined;
  const task: Task = {
    id: card.id,
    name: card.name,
    description: card.description ?? '',
    queue: board.queueOfList(card.listId),
    labels: relations.labelIds.length === 0 ? [] : board.labels.filter((label) => label.name && relations.labelIds.includes(label.id)).map((label) => label.name!),
    assignees: relations.memberIds.map((id) => board.users.get(id)).flatMap((user) => (user ? [userName(user)] : [])),
    comments,
    url: `${baseUrl}/cards/${card.id}`,
    createdAt: card.createdAt,
  };
  if (card.updatedAt) task.updatedAt = card.updatedAt;
  if (creator) task.author = userName(creator);
  return task;
}

export function userName(user: PlankaUser): string {
  return user.username || user.name || user.id;
}

/** Ids as numbers without losing digits: shorter is smaller, then text order. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
