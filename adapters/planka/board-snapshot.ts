import type { BoardResponse, PlankaCard, PlankaLabel, PlankaList, PlankaUser } from './api-types.ts';

/** Gap between neighbouring positions, as Planka's web app uses. */
export const POSITION_GAP = 65536;

/**
 * One `GET /api/boards/:id` answer, indexed: the lists, labels, members, cards and the card labels
 * and memberships of the board (on 2.x, cards of the active and closed lists only).
 */
export class BoardSnapshot {
  readonly id: string;
  readonly name: string;
  readonly projectName: string;
  readonly defaultCardType?: string;
  readonly lists: PlankaList[];
  readonly labels: PlankaLabel[];
  readonly users: Map<string, PlankaUser>;
  readonly fetchedAt = Date.now();
  private readonly listsById: Map<string, PlankaList>;
  private readonly queuesByList = new Map<string, string>();
  private readonly cardsByList = new Map<string, PlankaCard[]>();
  private readonly labelIdsByCard = new Map<string, string[]>();
  private readonly memberIdsByCard = new Map<string, string[]>();

  constructor(response: BoardResponse) {
    const included = response.included ?? {};
    this.id = response.item.id;
    this.name = response.item.name;
    this.defaultCardType = response.item.defaultCardType;
    this.projectName = included.projects?.find((project) => project.id === response.item.projectId)?.name ?? '';
    this.lists = [...(included.lists ?? [])].sort(byPosition);
    this.listsById = new Map(this.lists.map((list) => [list.id, list]));
    this.labels = [...(included.labels ?? [])].sort(byPosition);
    this.users = new Map((included.users ?? []).map((user) => [user.id, user]));
    for (const card of included.cards ?? []) push(this.cardsByList, card.listId, card);
    for (const cards of this.cardsByList.values()) cards.sort(byPosition);
    for (const cardLabel of included.cardLabels ?? []) push(this.labelIdsByCard, cardLabel.cardId, cardLabel.labelId);
    for (const membership of included.cardMemberships ?? []) push(this.memberIdsByCard, membership.cardId, membership.userId);
  }

  /** `Project.Board.List`; undefined for lists without a name (v2's archive and trash). */
  queueName(list: PlankaList): string | undefined {
    return list.name === null ? undefined : `${this.projectName}.${this.name}.${list.name}`;
  }

  /** The queue a card in this list is shown in; nameless system lists get their type in brackets. */
  queueOfList(listId: string): string {
    let queue = this.queuesByList.get(listId);
    if (queue === undefined) {
      const list = this.listsById.get(listId);
      queue = (list && this.queueName(list)) ?? `${this.projectName}.${this.name}.[${list?.type ?? 'unknown list'}]`;
      this.queuesByList.set(listId, queue);
    }
    return queue;
  }

  list(listId: string): PlankaList | undefined {
    return this.listsById.get(listId);
  }

  cardsIn(listId: string): PlankaCard[] {
    return this.cardsByList.get(listId) ?? [];
  }

  labelIdsOf(cardId: string): string[] {
    return this.labelIdsByCard.get(cardId) ?? [];
  }

  memberIdsOf(cardId: string): string[] {
    return this.memberIdsByCard.get(cardId) ?? [];
  }

  /** Just below the last card of the list. */
  bottomPosition(listId: string): number {
    return this.cardsIn(listId).reduce((max, card) => Math.max(max, card.position ?? 0), 0) + POSITION_GAP;
  }

  labelNames(): string[] {
    return this.labels.flatMap((label) => (label.name ? [label.name] : []));
  }

  usernames(): string[] {
    return [...this.users.values()].flatMap((user) => (user.username ? [user.username] : []));
  }
}

function byPosition(a: { position: number | null }, b: { position: number | null }): number {
  if (a.position === b.position) return 0;
  if (a.position === null) return 1;
  if (b.position === null) return -1;
  return a.position - b.position;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}
