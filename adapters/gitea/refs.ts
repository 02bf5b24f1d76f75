import { AdapterError } from '../../src/errors.ts';

/**
 * The names the Gitea adapter reads and writes: task ids `owner/repo#N` and queues `owner/repo`,
 * `owner/repo:label` and `owner/repo:closed`.
 */

export interface IssueRef {
  owner: string;
  repo: string;
  number: number;
}

export type QueueRef =
  | { kind: 'open'; owner: string; repo: string }
  | { kind: 'label'; owner: string; repo: string; label: string }
  | { kind: 'closed'; owner: string; repo: string };

/** The queue name that means "closed issues". A label literally named `closed` cannot be a queue. */
export const CLOSED = 'closed';

const NAME = '[A-Za-z0-9_.-]+';
const ID_PATTERN = new RegExp(`^(${NAME})/(${NAME})#([1-9][0-9]{0,15})$`);
const QUEUE_PATTERN = new RegExp(`^(${NAME})/(${NAME})(?::(.+))?$`);

/** `.` and `..` would walk the API path somewhere else. */
const isDotted = (...names: string[]) => names.some((name) => /^\.+$/.test(name));

export function parseIssueId(taskId: string): IssueRef {
  const match = ID_PATTERN.exec(taskId);
  if (!match || isDotted(match[1], match[2])) throw new AdapterError('invalid', `"${taskId}" is not a Gitea task id; expected owner/repo#number, e.g. acme/app#12`);
  return { owner: match[1], repo: match[2], number: Number(match[3]) };
}

export function formatIssueId(owner: string, repo: string, number: number): string {
  return `${owner}/${repo}#${number}`;
}

export function parseQueue(queue: string): QueueRef {
  const match = QUEUE_PATTERN.exec(queue.trim());
  if (!match || isDotted(match[1], match[2])) throw new AdapterError('not_found', `"${queue}" is not a Gitea queue; expected owner/repo, owner/repo:label or owner/repo:closed`, { queue });
  const [, owner, repo, label] = match;
  if (label === undefined) return { kind: 'open', owner, repo };
  if (label === CLOSED) return { kind: 'closed', owner, repo };
  return { kind: 'label', owner, repo, label };
}

export function formatQueue(ref: QueueRef): string {
  const base = `${ref.owner}/${ref.repo}`;
  if (ref.kind === 'open') return base;
  if (ref.kind === 'closed') return `${base}:${CLOSED}`;
  return `${base}:${ref.label}`;
}

export const repoPath = (ref: { owner: string; repo: string }) => `/repos/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}`;

export const repoKey = (ref: { owner: string; repo: string }) => `${ref.owner}/${ref.repo}`.toLowerCase();
