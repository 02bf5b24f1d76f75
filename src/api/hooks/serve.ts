import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config/types.ts';
import type { TickRequests } from '../../core/dispatch/tick-requests.ts';
import type { AppLogger } from '../../log.ts';
import { DEFAULT_BODY_LIMIT, type BodyLimits } from '../body.ts';
import { closeServer, listen, serverUrl } from '../http-server-kit.ts';
import { routeRequests } from '../route-requests.ts';
import { RouteTable, type RouteDefinition, type RouteHandler } from '../route-table.ts';
import { answerClientError, type MountOptions } from '../server.ts';
import { createGiteaReceiver } from './gitea.ts';
import { createPlankaReceiver } from './planka.ts';
import type { PushStatusRecorder } from './push-status.ts';
import { receiveDelivery } from './receive.ts';
import { hookScopeOf } from './scope.ts';
import type { HookReceiver } from './verdict.ts';

export interface ServeHooksOptions {
  config: Config;
  mode: 'run' | 'dispatch-file';
  requests: TickRequests;
  status: PushStatusRecorder;
  log: AppLogger;
  /** Where the receivers go without `[webhooks] listen`: the agent API (run) or dispatch-file's dashboard server. */
  mount?: { route(method: string, path: string, handler: RouteHandler, options?: MountOptions): void };
  /** Tests: smaller limits (default 1 MiB, 10 s). */
  limits?: Partial<BodyLimits>;
}

export interface HookServing {
  /** Each receiver, e.g. `gitea` → `/hooks/gitea`. */
  paths: string[];
  /** The base URL of the receivers' own address (`[webhooks] listen`), if they have one. */
  url?: string;
  close(): Promise<void>;
}

const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/**
 * Serves `POST /hooks/gitea` and `POST /hooks/planka`, each on when its secret is set in the
 * environment: on an address of their own when `[webhooks] listen` is set (only /hooks/* and
 * /healthz there), else beside the API. Undefined when no receiver is on.
 */
export async function serveHooks(options: ServeHooksOptions): Promise<HookServing | undefined> {
  const settings = options.config.webhooks;
  const scope = hookScopeOf(options.config, options.mode);
  const receivers: HookReceiver[] = [];
  if (settings?.giteaSecret) receivers.push(createGiteaReceiver({ secret: settings.giteaSecret, isWatched: scope.giteaRepo }));
  if (settings?.plankaToken) receivers.push(createPlankaReceiver({ token: settings.plankaToken, isWatched: scope.plankaBoard }));
  if (receivers.length === 0) return undefined;
  const log = options.log.withTag('hooks');
  const limits = { maxBytes: DEFAULT_BODY_LIMIT, timeoutMs: DEFAULT_BODY_TIMEOUT_MS, ...options.limits };
  const routes: RouteDefinition[] = receivers.map((receiver) => ({
    method: 'POST',
    path: `/hooks/${receiver.tracker}`,
    access: 'public',
    handler: ({ request }) => receiveDelivery(receiver, request, { requests: options.requests, status: options.status, log, limits }),
    doc: {
      summary: `Webhook receiver for ${receiver.tracker === 'gitea' ? 'Gitea (signed with GITEA_WEBHOOK_SECRET)' : 'Planka (Bearer PLANKA_WEBHOOK_TOKEN)'}: a verified delivery brings the next tick forward`,
      responses: { 202: { description: 'Accepted (a tick follows) or ignored (not about a routed queue)' } },
    },
  }));
  const paths = routes.map((route) => route.path);
  if (!settings?.listen) {
    if (!options.mount) return undefined;
    for (const route of routes) options.mount.route(route.method, route.path, route.handler, { access: 'public', doc: route.doc });
    log.info(`webhook receivers on ${paths.join(', ')}`);
    return { paths, close: async () => {} };
  }
  const table = new RouteTable();
  for (const route of routes) table.add(route);
  table.add({ method: 'GET', path: '/healthz', access: 'public', handler: () => ({ json: { ok: true } }) });
  const handle = routeRequests({ table, identify: async () => ({ kind: 'anonymous' }), checkHost: false, body: limits, log });
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 });
  server.on('request', (request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('clientError', answerClientError);
  await listen(server, settings.listen.host, settings.listen.port, 'the webhook receivers', 'webhooks.listen');
  const url = serverUrl(settings.listen.host, (server.address() as AddressInfo).port);
  log.info(`webhook receivers on ${url} (${paths.join(', ')})`);
  return { paths, url, close: () => closeServer(server) };
}
