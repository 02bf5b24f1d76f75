import { ConfigError } from '../../src/errors.ts';
import { registerSecret } from '../../src/util/redact.ts';
import type { Task, TrackerAdapter, TrackerContext } from '../types.ts';
import { createApiClient } from './client.ts';

const DEFAULT_RETRY_MS = 30_000;

/**
 * The dispatcher's own HTTP API as a tracker: `dispatcher task ...` inside an agent works with no
 * config file. `url` defaults to $DISPATCHER_API_URL. The token comes from the environment only:
 * the variable named by `token_env`, else $DISPATCHER_TOKEN (the run's, set by the dispatcher),
 * else $DISPATCHER_OPERATOR_TOKEN (e.g. `$(cat .dispatcher/operator-token)`); none at all for a
 * server with auth = "none". $DISPATCHER_API_RETRY_MS (default 30000) bounds the retries of a
 * refused connection; `request_timeout` (seconds) bounds one request.
 */
export default function createApiTracker(context: TrackerContext): TrackerAdapter {
  const { options, env } = context;
  const url = options.url ?? env.DISPATCHER_API_URL;
  if (!url) throw new ConfigError('backend.url: the api backend needs `url`, the dispatcher API (DISPATCHER_API_URL)');
  if (!/^https?:\/\//.test(url)) throw new ConfigError(`backend.url: "${url}" is not an http(s) URL of the dispatcher API`);
  const token = (options.token_env ? pick(env[options.token_env]) : undefined) ?? pick(env.DISPATCHER_TOKEN) ?? pick(env.DISPATCHER_OPERATOR_TOKEN);
  registerSecret(token);
  const client = createApiClient({
    baseUrl: url,
    token,
    retryMs: retryWindow(env.DISPATCHER_API_RETRY_MS),
    timeoutMs: options.request_timeout === undefined ? undefined : options.request_timeout * 1000,
    log: context.log,
  });
  const taskPath = (taskId: string) => `/tasks/${encodeURIComponent(taskId)}`;

  return {
    async getReadyTasks(queueNames) {
      if (queueNames.length === 0) return [];
      const { tasks } = await client.call<{ tasks: Task[] }>('GET', '/tasks', { query: queueNames.map((queue) => ['queue', queue]) });
      return tasks;
    },
    getTask: (taskId) => client.call<Task>('GET', taskPath(taskId)),
    async moveTask(taskId, targetQueue) {
      await client.call('POST', `${taskPath(taskId)}/move`, { body: { target_queue: targetQueue } });
    },
    async addComment(taskId, text) {
      await client.call('POST', `${taskPath(taskId)}/comments`, { body: { comment: text } });
    },
    async updateTask(taskId, update) {
      const body = Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined));
      if (Object.keys(body).length === 0) return;
      await client.call('PATCH', taskPath(taskId), { body });
    },
    createTask: (queueName, name, description) => client.call<Task>('POST', '/tasks', { body: { queue_name: queueName, name, description } }),
    async whoami() {
      const status = await client.call<{ identity?: unknown }>('GET', '/status');
      return typeof status?.identity === 'string' && status.identity !== '' ? status.identity : 'agent';
    },
    close: () => client.close(),
  };
}

function pick(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function retryWindow(value: unknown): number {
  if (value === undefined || value === '') return DEFAULT_RETRY_MS;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new ConfigError(`DISPATCHER_API_RETRY_MS must be a number of milliseconds, not "${String(value)}"`);
  return ms;
}
