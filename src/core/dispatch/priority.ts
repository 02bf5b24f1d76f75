import type { Task } from '../../../adapters/types.ts';
import type { PriorityName } from '../../config/types.ts';

/** Most urgent first. */
export const PRIORITIES: readonly PriorityName[] = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW'];

export type PriorityMapping = Record<PriorityName, string[]>;

/** Title prefixes that carry a priority: `CRITICAL: …`, `[HIGH] …`, `(p1) …`. */
const TITLE_PREFIX = /^\s*(?:\[([^\]\s]{1,40})\]|\(([^)\s]{1,40})\)|([^\s:[\]()]{1,40})\s*:)/;

/**
 * A task's priority from its labels, its title prefix and the adapter's own `priority`, whichever
 * is most urgent; NORMAL when none says. Names compare case-insensitively against the mapping.
 */
export function priorityOf(task: Pick<Task, 'name' | 'labels' | 'priority'>, mapping: PriorityMapping): PriorityName {
  const ranks = rankLookup(mapping);
  let best = task.priority !== undefined && task.priority >= 0 && task.priority < PRIORITIES.length ? Math.floor(task.priority) : PRIORITIES.length;
  for (const label of task.labels) best = Math.min(best, ranks.get(label.trim().toLowerCase()) ?? best);
  const prefix = TITLE_PREFIX.exec(task.name);
  if (prefix) best = Math.min(best, ranks.get((prefix[1] ?? prefix[2] ?? prefix[3]).toLowerCase()) ?? best);
  return PRIORITIES[best] ?? 'NORMAL';
}

const lookups = new WeakMap<PriorityMapping, Map<string, number>>();

/** Name → rank, the most urgent level winning when a name is listed twice. */
function rankLookup(mapping: PriorityMapping): Map<string, number> {
  let ranks = lookups.get(mapping);
  if (!ranks) {
    ranks = new Map();
    for (const [rank, level] of [...PRIORITIES.entries()].reverse()) {
      for (const name of mapping[level] ?? []) ranks.set(name.toLowerCase(), rank);
    }
    lookups.set(mapping, ranks);
  }
  return ranks;
}

export const priorityRank = (priority: PriorityName) => PRIORITIES.indexOf(priority);

/** Dispatch order: CRITICAL → HIGH → NORMAL → LOW, then oldest first, then id (numbers as numbers). */
export function compareByPriority(a: { task: Task; priority: PriorityName }, b: { task: Task; priority: PriorityName }): number {
  const rank = priorityRank(a.priority) - priorityRank(b.priority);
  if (rank !== 0) return rank;
  const age = createdTime(a.task.createdAt) - createdTime(b.task.createdAt);
  if (age !== 0) return age;
  return compareTaskIds(a.task.id, b.task.id);
}

/** Epoch ms of a creation time; unknown ones sort last. */
export function createdTime(value: string): number {
  const time = Date.parse(value);
  return Number.isNaN(time) ? Number.MAX_SAFE_INTEGER : time;
}

/** `owner/repo#9` before `owner/repo#10`. */
export function compareTaskIds(a: string, b: string): number {
  const left = /^(.*#)(\d+)$/.exec(a);
  const right = /^(.*#)(\d+)$/.exec(b);
  if (left && right && left[1] === right[1]) return compareIds(left[2], right[2]);
  return compareIds(a, b);
}

/** Numeric ids compare as numbers (19-digit ones too, without losing precision). */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
