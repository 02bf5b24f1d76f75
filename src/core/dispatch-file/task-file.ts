import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Task } from '../../../adapters/types.ts';
import type { PriorityName } from '../../config/types.ts';
import { redact } from '../../util/redact.ts';
import { escapeControls } from '../../util/printable.ts';

/**
 * Task files: `<tasksDir>/<assignee>/issue-<N>.md`, or `<owner>+<repo>-issue-<N>.md` when several
 * repositories feed one folder. Every name that comes from the tracker is made safe first, so no
 * login or repository name can point outside tasksDir.
 */

const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_SEGMENT = 100;

/**
 * A tracker name as one path segment, or undefined when it is empty. Plain names (letters, digits,
 * `_`, `-`, inner dots) stay as they are; anything else (a slash, a leading dot, `..`, spaces, `+`)
 * is percent-encoded, so two different names never share a segment and none can climb out.
 */
export function safeSegment(name: string): string | undefined {
  if (name === '') return undefined;
  let segment = SAFE.test(name)
    ? name
    : [...Buffer.from(name, 'utf8')]
        .map((byte, index) => {
          const char = String.fromCharCode(byte);
          return /[A-Za-z0-9_-]/.test(char) || (char === '.' && index > 0) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
        })
        .join('');
  if (segment.length > MAX_SEGMENT) {
    segment = `${segment.slice(0, MAX_SEGMENT - 17)}~${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  }
  return segment;
}

export interface IssueParts {
  /** `owner/repo`, or the queue for trackers whose ids are not issue numbers. */
  repository: string;
  /** The issue number, or the task id for other trackers. */
  number: string;
}

/** `owner/repo#12` → { repository: 'owner/repo', number: '12' }. */
export function issueParts(task: Pick<Task, 'id' | 'queue'>): IssueParts {
  const match = /^([^#\s]+\/[^#\s]+)#(\d+)$/.exec(task.id);
  if (match) return { repository: match[1], number: match[2] };
  return { repository: task.queue.split(':')[0], number: task.id };
}

/** The file name of a task; `multiRepo` puts the repository in it. */
export function taskFileName(task: Pick<Task, 'id' | 'queue'>, multiRepo: boolean): string {
  const { repository, number } = issueParts(task);
  const id = /^\d+$/.test(number) ? number : safeSegment(number)!;
  return `${taskFilePrefix(repository, multiRepo)}${id}.md`;
}

/** What the file names of a repository's tasks start with: `issue-`, or `<owner>+<repo>-issue-`. */
export function taskFilePrefix(repository: string, multiRepo: boolean): string {
  if (!multiRepo) return 'issue-';
  // `+` is never in a safe segment, so owner and repository cannot run into each other.
  const [owner, ...rest] = repository.split('/');
  return `${safeSegment(owner) ?? '%'}+${safeSegment(rest.join('/')) ?? '%'}-issue-`;
}

/** `<tasksDir>/<assignee>/<file>`, refusing anything that would land outside tasksDir. */
export function taskFilePath(tasksDir: string, assignee: string, fileName: string): string | undefined {
  const folder = safeSegment(assignee);
  if (!folder) return undefined;
  // A safe segment is never "", "." or "..", and has no separator; the file name must be one segment too.
  if (fileName === '' || fileName === '.' || fileName === '..' || /[/\\\0]/.test(fileName)) {
    throw new Error(`refusing a task file name that is not one plain segment: ${JSON.stringify(fileName)}`);
  }
  return join(resolve(tasksDir), folder, fileName);
}

export interface TaskFileInput {
  task: Task;
  priority: PriorityName;
  assignee: string;
  /** Newest comments kept; 0 leaves them out. */
  commentsLimit: number;
  dispatchedAt: Date;
}

/**
 * The markdown an agent reads. Passed through redact() so no registered secret is ever written, and
 * through escapeControls() so a title's terminal escapes are shown (`\x1b`), never played by a `cat`.
 */
export function renderTaskFile({ task, priority, assignee, commentsLimit, dispatchedAt }: TaskFileInput): string {
  const { repository, number } = issueParts(task);
  const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
  const lines = [
    `# ${/^\d+$/.test(number) ? `Issue #${number}` : `Task ${number}`}: ${oneLine(task.name) || '(no title)'}`,
    '',
    `- **Priority:** ${priority}`,
    `- **Repository:** ${repository}`,
    `- **Number:** ${number}`,
    `- **Task id:** \`${task.id}\``,
    `- **Link:** ${task.url || '(none)'}`,
    `- **Labels:** ${task.labels.length ? task.labels.map(oneLine).join(', ') : '(none)'}`,
    `- **Author:** ${oneLine(task.author ?? '') || '(unknown)'}`,
    `- **Created:** ${task.createdAt || '(unknown)'}`,
    `- **Updated:** ${task.updatedAt || '(unknown)'}`,
    `- **Assignees:** ${task.assignees.map(oneLine).join(', ') || '(none)'}`,
    `- **Dispatched to:** ${oneLine(assignee)} at ${dispatchedAt.toISOString()}`,
    '',
    '## Description',
    '',
    task.description.trim() || '(no description)',
    '',
  ];
  const comments = commentsLimit > 0 ? task.comments.slice(-commentsLimit) : [];
  if (comments.length > 0) {
    const of = comments.length < task.comments.length ? ` (latest ${comments.length} of ${task.comments.length})` : '';
    lines.push(`## Comments${of}`, '');
    for (const comment of comments) {
      lines.push(`### ${oneLine(comment.author) || '(unknown)'}, ${comment.createdAt || '(time unknown)'}`, '', comment.text.trim() || '(empty)', '');
    }
  } else if (task.comments.length > 0) {
    lines.push(`## Comments`, '', `(${task.comments.length} not shown)`, '');
  }
  const id = shellWord(task.id);
  lines.push(
    '## Reporting back',
    '',
    'Tell the tracker what happened (run where the dispatcher finds its configuration, or set DISPATCHER_CONFIG):',
    '',
    '```sh',
    `dispatcher task comment ${id} "What you did, what is left, what you need"`,
    ...(/^\d+$/.test(number) ? [`dispatcher task move ${id} ${shellWord(`${repository}:closed`)}   # when it is done`] : []),
    '```',
    '',
  );
  return escapeControls(redact(lines.join('\n')));
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:#@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
