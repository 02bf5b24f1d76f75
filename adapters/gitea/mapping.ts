import type { Comment, Task } from '../types.ts';
import type { GiteaComment, GiteaIssue } from './client.ts';
import { formatIssueId } from './refs.ts';

/** Gitea issues and comments as normalised Tasks. */

export function isPullRequest(issue: GiteaIssue): boolean {
  return issue.pull_request !== null && issue.pull_request !== undefined;
}

export function issueLabels(issue: GiteaIssue): string[] {
  return (issue.labels ?? []).map((label) => label.name);
}

/** `assignees` is null when empty; very old servers only fill `assignee`. */
export function issueAssignees(issue: GiteaIssue): string[] {
  if (Array.isArray(issue.assignees)) return issue.assignees.map((user) => user.login);
  return issue.assignee?.login ? [issue.assignee.login] : [];
}

export function toTask(issue: GiteaIssue, where: { owner: string; repo: string }, queue: string, comments: GiteaComment[] = []): Task {
  const task: Task = {
    id: formatIssueId(where.owner, where.repo, issue.number),
    name: issue.title ?? '',
    description: issue.body ?? '',
    queue,
    labels: issueLabels(issue),
    assignees: issueAssignees(issue),
    comments: comments.map(toComment),
    url: issue.html_url ?? '',
    createdAt: issue.created_at ?? '',
  };
  if (issue.updated_at) task.updatedAt = issue.updated_at;
  if (issue.user?.login) task.author = issue.user.login;
  return task;
}

export function toComment(comment: GiteaComment): Comment {
  return { author: comment.user?.login ?? '', text: comment.body ?? '', createdAt: comment.created_at ?? '' };
}
