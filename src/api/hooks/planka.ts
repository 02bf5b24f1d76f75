import { bearerOf, sameSecret } from './verify.ts';
import { ignored, parseObject, refused, type HookReceiver } from './verdict.ts';

export interface PlankaReceiverOptions {
  /** From PLANKA_WEBHOOK_TOKEN (or `[webhooks] planka_token_env`): the webhook's access token. */
  token: string;
  /** Whether a board (by project and board name; board undefined for project-level events) is one this daemon dispatches from. */
  isWatched(project: string, board: string | undefined): boolean;
}

interface Named {
  name?: unknown;
}

/**
 * Planka deliveries (2.x, and late 1.x with webhooks from the server's environment): the
 * webhook's access token as `Authorization: Bearer`, no signature, no delivery id; the body is
 * `{"event","data":{"item","included"},"prevData","user"}`. Webhooks are global (every project on
 * the instance), so only events about a board of the routes ask for a tick.
 */
export function createPlankaReceiver(options: PlankaReceiverOptions): HookReceiver {
  return {
    tracker: 'planka',
    screen(headers) {
      const token = bearerOf(headers);
      if (token === undefined) return refused(401, 'no access token (Authorization: Bearer)');
      if (!sameSecret(token, options.token)) return refused(401, 'wrong access token');
      return undefined;
    },
    judge(_headers, body) {
      const payload = parseObject(body);
      const event = typeof payload?.event === 'string' ? payload.event.slice(0, 100) : undefined;
      if (!payload || !event) return refused(400, 'not a Planka delivery (a JSON object with "event")');
      const places = [payload.data, payload.prevData].flatMap((part) => placeOf(part));
      if (places.length === 0) return ignored('not about a board', event);
      if (!places.some(({ project, board }) => options.isWatched(project, board))) return ignored('a board no route watches', event);
      return { result: 'accepted', status: 202, event };
    },
  };
}

/** The project and board a delivery's `data` (or `prevData`) is about, from its `included` names. */
function placeOf(part: unknown): Array<{ project: string; board: string | undefined }> {
  const included = (part as { included?: { projects?: Named[]; boards?: Named[] } } | undefined)?.included;
  const project = included?.projects?.[0]?.name;
  if (typeof project !== 'string') return [];
  const board = included?.boards?.[0]?.name;
  return [{ project, board: typeof board === 'string' ? board : undefined }];
}
