/**
 * Where the two Planka generations differ (see /work/shared/fixtures/planka/recorded, v1-* and v2-*).
 * Everything else (projects, boards, cards, users/me, login) has the same route on both.
 */
export type PlankaVersion = 1 | 2;

export interface RouteTable {
  /** GET, paged by `beforeId` (50 newest first). v1 lists comment actions only without `withDetails`. */
  comments(cardId: string): string;
  /** POST `{ text }`. */
  addComment(cardId: string): string;
  /** POST `{ labelId }`. */
  addLabel(cardId: string): string;
  removeLabel(cardId: string, labelId: string): { path: string; body?: unknown };
  /** POST `{ userId }`. */
  addMember(cardId: string): string;
  removeMember(cardId: string, userId: string): { path: string; body?: unknown };
  /** Extra fields a new card needs. */
  newCardFields(boardDefaultType: string | undefined): Record<string, unknown>;
}

const v1: RouteTable = {
  comments: (cardId) => `/api/cards/${cardId}/actions`,
  addComment: (cardId) => `/api/cards/${cardId}/comment-actions`,
  addLabel: (cardId) => `/api/cards/${cardId}/labels`,
  removeLabel: (cardId, labelId) => ({ path: `/api/cards/${cardId}/labels/${labelId}` }),
  addMember: (cardId) => `/api/cards/${cardId}/memberships`,
  // v1-18: the user goes in the body of the DELETE, not in the path.
  removeMember: (cardId, userId) => ({ path: `/api/cards/${cardId}/memberships`, body: { userId } }),
  newCardFields: () => ({}),
};

const v2: RouteTable = {
  comments: (cardId) => `/api/cards/${cardId}/comments`,
  addComment: (cardId) => `/api/cards/${cardId}/comments`,
  addLabel: (cardId) => `/api/cards/${cardId}/card-labels`,
  removeLabel: (cardId, labelId) => ({ path: `/api/cards/${cardId}/card-labels/labelId:${labelId}` }),
  addMember: (cardId) => `/api/cards/${cardId}/card-memberships`,
  removeMember: (cardId, userId) => ({ path: `/api/cards/${cardId}/card-memberships/userId:${userId}` }),
  // v2-12a: `type` is required; the board's default type is always allowed.
  newCardFields: (boardDefaultType) => ({ type: boardDefaultType === 'story' ? 'story' : 'project' }),
};

export function routesFor(version: PlankaVersion): RouteTable {
  return version === 1 ? v1 : v2;
}
