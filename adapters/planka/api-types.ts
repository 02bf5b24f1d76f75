/**
 * The parts of Planka's JSON the adapter reads (1.26 and 2.x). Ids are 19-digit strings and must
 * stay strings: JSON.parse keeps them so because Planka quotes them.
 */

export interface PlankaUser {
  id: string;
  username?: string | null;
  name?: string | null;
}

export interface PlankaProject {
  id: string;
  name: string;
}

export interface PlankaBoard {
  id: string;
  name: string;
  projectId: string;
  /** v2: the type new cards get when none is given. */
  defaultCardType?: string;
}

export interface PlankaList {
  id: string;
  /** null for v2's hidden archive and trash lists. */
  name: string | null;
  position: number | null;
  boardId: string;
  /** v2 only: active, closed, archive, trash. */
  type?: string;
}

export interface PlankaLabel {
  id: string;
  name: string | null;
  position: number;
  boardId: string;
}

export interface PlankaCard {
  id: string;
  createdAt: string;
  updatedAt: string | null;
  position: number | null;
  name: string;
  description: string | null;
  boardId: string;
  listId: string;
  creatorUserId?: string | null;
}

export interface PlankaCardLabel {
  id: string;
  cardId: string;
  labelId: string;
}

export interface PlankaCardMembership {
  id: string;
  cardId: string;
  userId: string;
}

/** v2 comment. */
export interface PlankaComment {
  id: string;
  createdAt: string;
  text: string;
  userId: string | null;
}

/** v1 action; comments are `commentCard` with the text in `data.text`. */
export interface PlankaAction {
  id: string;
  createdAt: string;
  type: string;
  data: { text?: string } | null;
  userId: string | null;
}

export interface ItemResponse<T, I = Record<string, unknown>> {
  item: T;
  included?: I;
}

export interface ItemsResponse<T, I = Record<string, unknown>> {
  items: T[];
  included?: I;
}

export type ProjectsResponse = ItemsResponse<PlankaProject, { boards?: PlankaBoard[] }>;

export type BoardResponse = ItemResponse<
  PlankaBoard,
  {
    users?: PlankaUser[];
    labels?: PlankaLabel[];
    lists?: PlankaList[];
    cards?: PlankaCard[];
    cardMemberships?: PlankaCardMembership[];
    cardLabels?: PlankaCardLabel[];
    projects?: PlankaProject[];
  }
>;

export type CardResponse = ItemResponse<PlankaCard, { cardMemberships?: PlankaCardMembership[]; cardLabels?: PlankaCardLabel[]; users?: PlankaUser[] }>;
