import { AdapterError, ConfigError, isAdapterError } from '../../src/errors.ts';
import { registerSecret } from '../../src/util/redact.ts';
import type { Task, TaskUpdate, TrackerAdapter, TrackerContext } from '../types.ts';
import { createGiteaClient, type GiteaClient, type GiteaComment, type GiteaIssue, type GiteaRepository, type GiteaUser } from './client.ts';
import { createAssigneeDirectory } from './assignees.ts';
import { createLabelDirectory } from './labels.ts';
import { isPullRequest, toTask } from './mapping.ts';
import { giteaWebhooks } from './webhooks.ts';
import { formatQueue, parseIssueId, parseQueue, repoKey, repoPath, type IssueRef, type QueueRef } from './refs.ts';

/**
 * Gitea issues as a tracker. Queues: `owner/repo` (open issues), `owner/repo:label` (open issues
 * with that label) and `owner/repo:closed`. Pull requests are never tasks.
 */
export default function createGiteaTracker(context: TrackerContext): TrackerAdapter {
  const { client: unverified, tokenEnv } = connect(context);
  /**
   * The token is checked (GET /user) before anything else is read: Gitea serves public
   * repositories to a wrong token as if anonymous, so a wrong token would otherwise look fine.
   */
  let verified: Promise<string> | undefined;
  const verify = () =>
    (verified ??= unverified.get<GiteaUser>('/user').then(
      (user) => {
        if (!user?.login) throw new AdapterError('bad_response', 'Gitea did not say who the token belongs to (GET /user has no login)');
        return user.login;
      },
      (error: unknown) => {
        verified = undefined;
        if (isAdapterError(error, 'auth')) {
          throw new AdapterError('auth', `Gitea refused the token in ${tokenEnv} (${error.message}): it is wrong, expired or revoked; nothing was read or changed`, { cause: error, status: error.status });
        }
        throw error;
      },
    ));
  const client: GiteaClient = {
    ...unverified,
    get: async (path, query) => (await verify(), unverified.get(path, query)),
    getAll: async (path, query) => (await verify(), unverified.getAll(path, query)),
    send: async (method, path, body) => (await verify(), unverified.send(method, path, body)),
  };
  const labels = createLabelDirectory(client);
  const assignable = createAssigneeDirectory(client);
  /** Labels that name queues, per repository: a move leaves the other queue labels behind. */
  const queueLabels = new Map<string, Set<string>>();
  // Every queue the config names is known from the start: after a restart, moving an adopted
  // run's issue out of its in-progress label still removes that label.
  for (const name of context.queues ?? []) {
    try {
      learn(parseQueue(name));
    } catch {
      // Not a Gitea queue name: reported when it is used.
    }
  }

  function learn(queue: QueueRef): void {
    if (queue.kind !== 'label') return;
    const key = repoKey(queue);
    if (!queueLabels.has(key)) queueLabels.set(key, new Set());
    queueLabels.get(key)!.add(queue.label);
  }

  function isQueueLabel(ref: { owner: string; repo: string }, name: string): boolean {
    return queueLabels.get(repoKey(ref))?.has(name) ?? false;
  }

  /** The queue an issue is in now: closed, the first label known as a queue, or the repository. */
  function queueOf(issue: GiteaIssue, ref: { owner: string; repo: string }): string {
    if (issue.state === 'closed') return formatQueue({ kind: 'closed', ...ref });
    const label = (issue.labels ?? []).find((item) => isQueueLabel(ref, item.name));
    return formatQueue(label ? { kind: 'label', ...ref, label: label.name } : { kind: 'open', ...ref });
  }

  async function readIssue(ref: IssueRef): Promise<GiteaIssue> {
    const issue = await withNotFound(client.get<GiteaIssue>(`${repoPath(ref)}/issues/${ref.number}`), () => `Gitea: no issue ${ref.owner}/${ref.repo}#${ref.number}`);
    if (isPullRequest(issue)) throw new AdapterError('not_found', `Gitea: ${ref.owner}/${ref.repo}#${ref.number} is a pull request, not an issue`);
    return issue;
  }

  /** A queue that cannot be resolved fails alone (AdapterError `queue`): the router pauses only the routes using it. */
  async function listQueue(queueName: string): Promise<Task[]> {
    const queue = parseQueue(queueName);
    learn(queue);
    const query: Record<string, string> = { state: queue.kind === 'closed' ? 'closed' : 'open', type: 'issues' };
    if (queue.kind === 'label') {
      // Gitea drops unknown label names from the filter and would then list every open issue.
      const label = await namingQueue(queueName, labels.find(queue, queue.label));
      if (!label) throw new AdapterError('not_found', `Gitea: no queue ${queueName}: ${queue.owner}/${queue.repo} has no label "${queue.label}"`, { queue: queueName });
      query.labels = label.name;
    }
    const issues = await namingQueue(
      queueName,
      withNotFound(client.getAll<GiteaIssue>(`${repoPath(queue)}/issues`, query), () => `Gitea: no repository ${queue.owner}/${queue.repo} (or the token may not read it)`),
    );
    return issues
      .filter((issue) => !isPullRequest(issue))
      .filter((issue) => queue.kind !== 'label' || (issue.labels ?? []).some((label) => label.name.toLowerCase() === queue.label.toLowerCase()))
      .map((issue) => toTask(issue, queue, queueName));
  }

  async function setLabelQueue(ref: IssueRef, issue: GiteaIssue, target: QueueRef, targetLabelId: number | undefined): Promise<void> {
    const path = `${repoPath(ref)}/issues/${ref.number}/labels`;
    // Remove before adding: a crash in between leaves the issue in no queue rather than in two.
    for (const label of issue.labels ?? []) {
      if (label.id !== targetLabelId && isQueueLabel(ref, label.name)) await client.send('DELETE', `${path}/${label.id}`);
    }
    if (targetLabelId !== undefined && !(issue.labels ?? []).some((label) => label.id === targetLabelId)) {
      await client.send('POST', path, { labels: [targetLabelId] });
    }
    const wantClosed = target.kind === 'closed';
    if (wantClosed !== (issue.state === 'closed')) {
      await client.send('PATCH', `${repoPath(ref)}/issues/${ref.number}`, { state: wantClosed ? 'closed' : 'open' });
    }
  }

  return {
    async getReadyTasks(queueNames) {
      const lists = await Promise.all(queueNames.map(listQueue));
      const byId = new Map<string, Task>();
      for (const task of lists.flat()) {
        const seen = byId.get(task.id);
        // An issue in `owner/repo:label` is also in `owner/repo`: the label queue is the precise one.
        if (!seen || (!seen.queue.includes(':') && task.queue.includes(':'))) byId.set(task.id, task);
      }
      return [...byId.values()];
    },

    async getTask(taskId) {
      const ref = parseIssueId(taskId);
      // One after the other: for a missing issue Gitea's comments route fails with a slow, retried 500.
      const issue = await readIssue(ref);
      const comments = await client.get<GiteaComment[]>(`${repoPath(ref)}/issues/${ref.number}/comments`);
      if (!Array.isArray(comments)) throw new AdapterError('bad_response', `Gitea: the comments of ${taskId} are not a list`);
      return toTask(issue, ref, queueOf(issue, ref), comments);
    },

    async moveTask(taskId, targetQueue) {
      const ref = parseIssueId(taskId);
      const target = parseQueue(targetQueue);
      if (repoKey(target) !== repoKey(ref)) {
        throw new AdapterError('invalid', `Gitea: ${taskId} cannot move to ${targetQueue}: issues stay in their repository`);
      }
      const issue = await readIssue(ref);
      learn(target);
      let labelId: number | undefined;
      if (target.kind === 'label') {
        const label = await labels.find(ref, target.label);
        if (!label) throw new AdapterError('not_found', `Gitea: no queue ${targetQueue}: ${ref.owner}/${ref.repo} has no label "${target.label}"`, { queue: targetQueue });
        labelId = label.id;
      }
      await setLabelQueue(ref, issue, target, labelId);
    },

    async addComment(taskId, text) {
      const ref = parseIssueId(taskId);
      // A pull request is refused before anything is posted on it (and a missing issue is named:
      // Gitea answers 500, not 404, for a comment on an issue that does not exist, cmt404).
      await readIssue(ref);
      await client.send('POST', `${repoPath(ref)}/issues/${ref.number}/comments`, { body: text });
    },

    async updateTask(taskId, update: TaskUpdate) {
      const ref = parseIssueId(taskId);
      // Everything is checked before anything changes: the issue (not a pull request), the labels, the assignees.
      await readIssue(ref);
      const labelIds = update.labels === undefined ? undefined : await labels.ids(ref, update.labels, 'invalid');
      const assignees = update.assignees === undefined || update.assignees.length === 0 ? update.assignees : await assignable.check(ref, update.assignees);
      const patch: Record<string, unknown> = {};
      if (update.name !== undefined) patch.title = update.name;
      if (update.description !== undefined) patch.body = update.description;
      if (assignees !== undefined) patch.assignees = assignees;
      const path = `${repoPath(ref)}/issues/${ref.number}`;
      const missing = () => `Gitea: no issue ${taskId}`;
      if (Object.keys(patch).length > 0) await withNotFound(client.send('PATCH', path, patch), missing);
      if (labelIds !== undefined) await withNotFound(client.send('PUT', `${path}/labels`, { labels: labelIds }), missing);
    },

    async createTask(queueName, name, description) {
      const queue = parseQueue(queueName);
      learn(queue);
      const labelIds = queue.kind === 'label' ? await labels.ids(queue, [queue.label], 'not_found') : [];
      const body: Record<string, unknown> = { title: name, body: description };
      if (labelIds.length > 0) body.labels = labelIds;
      let issue = await withNotFound(client.send<GiteaIssue>('POST', `${repoPath(queue)}/issues`, body), () => `Gitea: no repository ${queue.owner}/${queue.repo} (or the token may not write to it)`);
      if (queue.kind === 'closed') issue = await client.send<GiteaIssue>('PATCH', `${repoPath(queue)}/issues/${issue.number}`, { state: 'closed' });
      return toTask(issue, queue, queueName);
    },

    whoami: verify,

    async listQueues(owner) {
      const list = (path: string) => client.getAll<GiteaRepository>(path);
      let repos: GiteaRepository[];
      try {
        repos = await list(`/orgs/${encodeURIComponent(owner)}/repos`);
      } catch (error) {
        if (!isAdapterError(error, 'not_found')) throw error;
        repos = await withNotFound(list(`/users/${encodeURIComponent(owner)}/repos`), () => `Gitea: no user or organisation "${owner}"`);
      }
      return repos
        .filter((repo) => repo.archived !== true && repo.has_issues !== false)
        .map((repo) => repo.full_name || `${repo.owner?.login ?? owner}/${repo.name}`)
        .sort();
    },

    webhooks: giteaWebhooks(client),

    close: () => client.close(),
  };
}

function connect(context: TrackerContext): { client: GiteaClient; tokenEnv: string } {
  const options = context.options;
  const url = typeof options.url === 'string' ? options.url.trim() : '';
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new ConfigError('backend.url: the gitea backend needs `url`, the address of the Gitea server (e.g. https://git.example.com)');
  }
  const tokenEnv = typeof options.token_env === 'string' && options.token_env !== '' ? options.token_env : 'GITEA_TOKEN';
  const token = context.env[tokenEnv]?.trim();
  if (!token) {
    throw new ConfigError(`backend: the gitea backend needs a token in the environment variable ${tokenEnv} (set it, or put it in .env beside the config)`);
  }
  registerSecret(token);
  const timeout = typeof options.request_timeout === 'number' && options.request_timeout > 0 ? options.request_timeout * 1000 : undefined;
  return { client: createGiteaClient({ url, token, timeoutMs: timeout }), tokenEnv };
}

/** A repository that is not there (404) makes the queue unresolvable: the error says which queue. */
async function namingQueue<T>(queue: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (isAdapterError(error, 'not_found')) throw new AdapterError('not_found', error.message, { cause: error.cause, status: error.status, queue });
    throw error;
  }
}

async function withNotFound<T>(promise: Promise<T>, message: () => string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (isAdapterError(error, 'not_found')) throw new AdapterError('not_found', message(), { cause: error, status: error.status });
    throw error;
  }
}
