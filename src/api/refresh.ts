import type { TickRequests } from '../core/dispatch/tick-requests.ts';
import type { ApiServer } from './server.ts';

/** `POST /refresh` (operator): a tick now, for humans and scripts; answers once the tick has started. */
export function mountRefresh(api: Pick<ApiServer, 'route'>, requests: TickRequests): void {
  api.route(
    'POST',
    '/refresh',
    async () => {
      await requests.request('refresh');
      return { json: { ok: true, tickStartedAt: new Date(requests.last?.at ?? Date.now()).toISOString() } };
    },
    {
      access: 'operator',
      doc: {
        summary: 'Tick now (operator token only)',
        description: 'Polls the routed queues and dispatches now instead of at the next poll interval; answers once that tick has started. Requests close together share one tick.',
        responses: { 200: { description: 'The tick has started', schema: { type: 'object', properties: { ok: { type: 'boolean' }, tickStartedAt: { type: 'string', format: 'date-time' } } } } },
      },
    },
  );
}
