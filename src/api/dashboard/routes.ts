import type { Caller } from '../auth.ts';
import type { MountOptions, RouteHandler } from '../server.ts';
import { assetReply, PAGE_HEADERS } from './assets.ts';
import { signInPage } from './assets/page-html.ts';
import type { DashboardFeed } from './feed.ts';
import type { DashboardAccess } from './session.ts';

/** Anything that mounts routes like the API server does (the API server, the dispatch-file server). */
export interface RouteMount {
  route(method: string, path: string, handler: RouteHandler, options?: MountOptions): void;
}

const AUTH_NOTE = 'Needs the operator token as a Bearer header, or the dashboard cookie a browser gets from /?token=<operator token>; open with [api] auth = "none".';

/**
 * The dashboard's routes: the page and its two assets, the live stream and the JSON snapshot.
 * They are mounted as "public" in the route table because a browser comes with a cookie, not a
 * Bearer header; each handler checks access itself (see session.ts).
 */
export function mountDashboard(server: RouteMount, options: { feed: DashboardFeed; access: DashboardAccess }): void {
  const { feed, access } = options;
  const html = (status: number, body: string) => ({ status, headers: { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' }, raw: body });

  server.route(
    'GET',
    '/',
    async ({ request, query, caller, identify }) => {
      const token = query.get('token');
      if (token !== null) {
        const shown: Caller = await identify(token).catch(() => ({ kind: 'anonymous' }) as const);
        if (shown.kind !== 'operator' && shown.kind !== 'open') return html(401, signInPage(true));
        const cookie = access.cookieFor(shown);
        return { status: 303, headers: { ...PAGE_HEADERS, location: '/', ...(cookie ? { 'set-cookie': cookie } : {}) } };
      }
      if (!access.allows(request, caller)) return html(401, signInPage(false));
      return assetReply('page', request, PAGE_HEADERS);
    },
    {
      access: 'public',
      doc: {
        summary: 'The live dashboard (HTML)',
        description: `${AUTH_NOTE} \`/?token=...\` sets the cookie and redirects to \`/\`.`,
        responses: { 200: { description: 'The page', contentType: 'text/html' }, 303: { description: 'Signed in: the cookie is set' }, 401: { description: 'How to sign in', contentType: 'text/html' } },
      },
    },
  );
  server.route('GET', '/dashboard.js', ({ request }) => assetReply('script', request), {
    access: 'public',
    doc: { summary: "The dashboard's script", responses: { 200: { description: 'JavaScript', contentType: 'text/javascript' } } },
  });
  server.route('GET', '/dashboard.css', ({ request }) => assetReply('style', request), {
    access: 'public',
    doc: { summary: "The dashboard's styles", responses: { 200: { description: 'CSS', contentType: 'text/css' } } },
  });
  server.route(
    'GET',
    '/events',
    async ({ request, response, caller }) => {
      access.check(request, caller);
      if (request.method === 'HEAD') return { headers: { 'content-type': 'text/event-stream; charset=utf-8' } };
      await feed.stream(request, response);
      return undefined;
    },
    {
      access: 'public',
      doc: {
        summary: 'The dashboard state, live (Server-Sent Events)',
        description: `${AUTH_NOTE} Events: \`snapshot\` (the state, on connect and after each change, at most 5 per second), \`log\` (\`{reset, lines}\`: the tail on connect with reset = true, then new lines). A comment every 15 s keeps the stream open.`,
        responses: { 200: { description: 'An event stream', contentType: 'text/event-stream' } },
      },
    },
  );
  server.route(
    'GET',
    '/api/v1/state',
    async ({ request, caller }) => {
      access.check(request, caller);
      return { json: await feed.document() };
    },
    {
      access: 'public',
      doc: {
        summary: 'The dashboard state and log tail as JSON, for scripts',
        description: AUTH_NOTE,
        responses: { 200: { description: 'The state', schema: { type: 'object' } } },
      },
    },
  );
}
