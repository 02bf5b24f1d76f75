import { AdapterError } from '../../src/errors.ts';
import type { InstalledWebhook, WebhookAdmin, WebhookChange } from '../types.ts';
import type { GiteaClient } from './client.ts';
import { repoPath } from './refs.ts';

interface GiteaHook {
  id: number;
  type?: string;
  active?: boolean;
  events?: string[] | null;
  config?: Record<string, string> | null;
}

/** The events the dispatcher's receiver acts on ("issues" covers assign, label and milestone too). */
const EVENTS = ['issues', 'issue_comment'];

/**
 * Repository webhooks (`/repos/{owner}/{repo}/hooks`): one of type gitea per routed repository,
 * JSON, the issue events, signed with the secret. Gitea never shows a hook's secret again, so a
 * hook that points at the URL with the right events counts as installed.
 */
export function giteaWebhooks(client: GiteaClient): WebhookAdmin {
  const hooksOf = (scope: string) => client.getAll<GiteaHook>(`${pathOf(scope)}/hooks`);
  const isReady = (hook: GiteaHook) => hook.type === 'gitea' && hook.active === true && hook.config?.content_type === 'json' && EVENTS.every((event) => hook.events?.includes(event));

  return {
    async list(scopes) {
      const lists = await Promise.all(scopes.map(async (scope) => (await hooksOf(scope)).map((hook): InstalledWebhook => ({ scope, id: String(hook.id), url: hook.config?.url ?? '', events: hook.events ?? [], active: hook.active === true }))));
      return lists.flat();
    },

    async install({ url, secret, scopes }, dryRun) {
      const changes: WebhookChange[] = [];
      for (const scope of scopes) {
        const existing = (await hooksOf(scope)).find((hook) => hook.config?.url === url);
        if (existing && isReady(existing)) {
          changes.push({ scope, action: 'unchanged', url, id: String(existing.id) });
          continue;
        }
        const config = { url, content_type: 'json', secret };
        if (existing) {
          const events = [...new Set([...(existing.events ?? []), ...EVENTS])];
          if (!dryRun) await client.send('PATCH', `${pathOf(scope)}/hooks/${existing.id}`, { config, events, active: true });
          changes.push({ scope, action: 'updated', url, id: String(existing.id) });
        } else {
          const created = dryRun ? undefined : await client.send<GiteaHook>('POST', `${pathOf(scope)}/hooks`, { type: 'gitea', config, events: EVENTS, active: true });
          changes.push({ scope, action: 'created', url, ...(created ? { id: String(created.id) } : {}) });
        }
      }
      return changes;
    },

    async remove({ url, scopes }, dryRun) {
      const changes: WebhookChange[] = [];
      for (const scope of scopes) {
        for (const hook of (await hooksOf(scope)).filter((candidate) => candidate.config?.url === url)) {
          if (!dryRun) await client.send('DELETE', `${pathOf(scope)}/hooks/${hook.id}`);
          changes.push({ scope, action: 'removed', url, id: String(hook.id) });
        }
      }
      return changes;
    },
  };
}

function pathOf(scope: string): string {
  const [owner, repo, ...rest] = scope.split('/');
  if (!owner || !repo || rest.length > 0) throw new AdapterError('invalid', `"${scope}" is not a Gitea repository (owner/repo)`);
  return repoPath({ owner, repo });
}
