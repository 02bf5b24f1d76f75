import type { PlankaAction, PlankaComment, PlankaUser, ItemsResponse } from './api-types.ts';
import type { PlankaClient } from './client.ts';
import { compareIds } from './mapping.ts';

/** Planka answers 50 per page, newest first; `beforeId` asks for the next page. */
const PAGE_SIZE = 50;
const MAX_PAGES = 200;

export interface RawComment {
  id: string;
  text: string;
  createdAt: string;
  userId: string | null;
}

/**
 * All comments of a card, oldest first, with the users the pages named. v2 reads
 * `/api/cards/:id/comments`; v1 reads `/api/cards/:id/actions`, which without `withDetails`
 * lists only the `commentCard` actions (text in `data.text`).
 */
export async function fetchComments(client: PlankaClient, cardId: string): Promise<{ comments: RawComment[]; users: Map<string, PlankaUser> }> {
  const routes = await client.routes();
  const version = await client.version();
  const comments: RawComment[] = [];
  const users = new Map<string, PlankaUser>();
  let beforeId: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await client.request<ItemsResponse<PlankaComment | PlankaAction, { users?: PlankaUser[] }>>('GET', routes.comments(cardId), {
      query: { beforeId },
    });
    const items = response.items ?? [];
    for (const user of response.included?.users ?? []) users.set(user.id, user);
    for (const item of items) {
      const text = version === 2 ? (item as PlankaComment).text : (item as PlankaAction).type === 'commentCard' ? (item as PlankaAction).data?.text : undefined;
      if (typeof text === 'string') comments.push({ id: item.id, text, createdAt: item.createdAt, userId: item.userId });
    }
    const last = items.at(-1)?.id;
    if (items.length < PAGE_SIZE || last === undefined || (beforeId !== undefined && compareIds(last, beforeId) >= 0)) break;
    beforeId = last;
  }
  comments.sort((a, b) => compareIds(a.id, b.id));
  return { comments, users };
}
