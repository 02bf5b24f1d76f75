import { AdapterError, isAdapterError } from '../../src/errors.ts';
import type { WebhookAdmin, WebhookChange } from '../types.ts';
import type { PlankaClient } from './client.ts';

interface PlankaWebhook {
  id: string;
  name?: string;
  url: string;
  accessToken?: string | null;
  events?: string[] | null;
  excludedEvents?: string[] | null;
}

/** Planka's webhooks are global: one for the whole instance. */
const SCOPE = 'instance';

/**
 * Planka 2.x webhooks (`/api/webhooks`, admin only): one pointing at the receiver with the access
 * token as its `accessToken`, every event (the receiver picks what concerns the routes' boards).
 * Planka 1.x has no webhook API: its webhooks come from the server's `WEBHOOKS` variable.
 */
export function plankaWebhooks(client: PlankaClient): WebhookAdmin {
  async function all(): Promise<PlankaWebhook[]> {
    if ((await client.version()) === 1) {
      throw new AdapterError('invalid', 'Planka 1.x has no webhook API: its administrator lists webhooks in the server\'s WEBHOOKS environment variable, e.g. WEBHOOKS=\'[{"url":"https://…/hooks/planka","accessToken":"<PLANKA_WEBHOOK_TOKEN>"}]\' (see docs/webhooks.md)');
    }
    try {
      return (await client.request<{ items: PlankaWebhook[] }>('GET', '/api/webhooks')).items ?? [];
    } catch (error) {
      // Planka answers 404 to anyone but an administrator.
      if (isAdapterError(error, 'not_found')) {
        throw new AdapterError('auth', 'Planka: only an administrator may manage webhooks, and the dispatcher\'s user is not one; run this command with an admin\'s PLANKA_USER/PLANKA_PASSWORD (or token), or have an admin create the webhook in Planka (Settings → Webhooks)', { cause: error, status: error.status });
      }
      throw error;
    }
  }

  return {
    async list() {
      return (await all()).map((hook) => ({ scope: SCOPE, id: hook.id, url: hook.url, events: hook.events ?? ['(all)'], active: true }));
    },

    async install({ url, secret }, dryRun) {
      const existing = (await all()).find((hook) => hook.url === url);
      if (existing && existing.accessToken === secret && !existing.events && !existing.excludedEvents) return [{ scope: SCOPE, action: 'unchanged', url, id: existing.id }];
      const settings = { url, accessToken: secret, events: null, excludedEvents: null };
      let change: WebhookChange;
      if (existing) {
        if (!dryRun) await client.request('PATCH', `/api/webhooks/${encodeURIComponent(existing.id)}`, { body: settings });
        change = { scope: SCOPE, action: 'updated', url, id: existing.id };
      } else {
        const created = dryRun ? undefined : await client.request<{ item: PlankaWebhook }>('POST', '/api/webhooks', { body: { name: 'dispatcher', ...settings } });
        change = { scope: SCOPE, action: 'created', url, ...(created ? { id: created.item.id } : {}) };
      }
      return [change];
    },

    async remove({ url }, dryRun) {
      const changes: WebhookChange[] = [];
      for (const hook of (await all()).filter((candidate) => candidate.url === url)) {
        if (!dryRun) await client.request('DELETE', `/api/webhooks/${encodeURIComponent(hook.id)}`);
        changes.push({ scope: SCOPE, action: 'removed', url, id: hook.id });
      }
      return changes;
    },
  };
}
