import type { Task } from '../../adapters/types.ts';

/** Dispatch order: priority when the adapter gives one (lower first), then oldest, then id. */
export function compareForDispatch(a: Task, b: Task): number {
  const pa = a.priority ?? 2;
  const pb = b.priority ?? 2;
  if (pa !== pb) return pa - pb;
  if (a.createdAt && b.createdAt && a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return compareIds(a.id, b.id);
}

/** Numeric ids compare as numbers (19-digit ones too, without losing precision). */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
