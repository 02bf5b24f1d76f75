import { answerStop, type RunControl } from '../run-routes.ts';
import { ApiError } from '../errors.ts';
import type { RouteMount } from './routes.ts';
import type { DashboardAccess } from './session.ts';

/**
 * The Stop button's endpoint: the same stop as `POST /runs/{run_id}/stop`, for a browser holding
 * the dashboard session (the operator's). The cookie alone is not enough: the request must come
 * from the page itself (a JSON body, which no cross-site form can send, and a same-origin
 * `Origin` where the browser gives one); the cookie is SameSite=Strict besides.
 */
export function mountStopButton(server: RouteMount, access: DashboardAccess, control: RunControl): void {
  server.route(
    'POST',
    '/dashboard/runs/{run_id}/stop',
    async (context) => {
      access.check(context.request, context.caller);
      const { origin, host } = context.request.headers;
      if (origin !== undefined && origin !== 'null' && new URL(origin).host !== host) throw new ApiError(403, 'forbidden', 'the Stop button works from the dashboard page only');
      return answerStop(control, context, await context.readJson());
    },
    {
      access: 'public',
      doc: {
        summary: "The dashboard's Stop button (operator session)",
        description: 'As POST /runs/{run_id}/stop, for the dashboard page: its session cookie (or the operator token), a JSON body, same origin.',
        responses: { 202: { description: 'The agent is gone; the run settles next', schema: { type: 'object' } } },
      },
    },
  );
}
