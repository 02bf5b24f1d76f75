import { giteaSignatureOf, giteaSignatureValid } from './verify.ts';
import { ignored, isJson, parseObject, refused, type HookReceiver } from './verdict.ts';

/** How many delivery ids are remembered to ignore a replay (Gitea's redelivery, or someone else's). */
const REMEMBERED_DELIVERIES = 1_000;

export interface GiteaReceiverOptions {
  /** From GITEA_WEBHOOK_SECRET (or `[webhooks] gitea_secret_env`). */
  secret: string;
  /** Whether a repository (`owner/name`) is one this daemon dispatches from. */
  isWatched(fullName: string): boolean;
}

/**
 * Gitea (and Forgejo) deliveries: an HMAC-SHA256 of the raw body with the shared secret in
 * `X-Gitea-Signature` or `X-Hub-Signature-256`; a delivery id in `X-Gitea-Delivery`; the event in
 * `X-Gitea-Event`. Issue events of watched repositories ask for a tick; the rest are ignored.
 */
export function createGiteaReceiver(options: GiteaReceiverOptions): HookReceiver {
  const seen = new Set<string>();
  return {
    tracker: 'gitea',
    screen(headers) {
      if (!giteaSignatureOf(headers)) return refused(401, 'no signature (X-Gitea-Signature or X-Hub-Signature-256)');
      if (!isJson(headers)) return refused(415, 'not JSON: set the webhook\'s content type to application/json');
      return undefined;
    },
    judge(headers, body) {
      const name = headerOf(headers['x-gitea-event'] ?? headers['x-forgejo-event'] ?? headers['x-github-event']) ?? 'unknown';
      if (!giteaSignatureValid(body, giteaSignatureOf(headers)!, options.secret)) return refused(401, 'wrong signature', name);
      const delivery = headerOf(headers['x-gitea-delivery'] ?? headers['x-forgejo-delivery'] ?? headers['x-github-delivery']);
      if (delivery !== undefined && seen.has(delivery)) return refused(409, 'a delivery already received (same X-Gitea-Delivery)', name);
      const payload = parseObject(body);
      if (!payload) return refused(400, 'the body is not a JSON object', name);
      if (delivery !== undefined) remember(seen, delivery);
      const action = typeof payload.action === 'string' ? payload.action : undefined;
      const event = action ? `${name}/${action}` : name;
      if (!name.startsWith('issue')) return ignored('not an issue event', event);
      const repository = payload.repository as { full_name?: unknown } | undefined;
      if (typeof repository?.full_name !== 'string') return refused(400, 'no repository in the delivery', event);
      if (!options.isWatched(repository.full_name)) return ignored('a repository no route watches', event);
      return { result: 'accepted', status: 202, event };
    },
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text ? text.slice(0, 100) : undefined;
}

function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > REMEMBERED_DELIVERIES) seen.delete(seen.values().next().value as string);
}
