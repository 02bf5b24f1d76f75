import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../errors.ts';
import { openOnNetwork } from '../../config/rules.ts';
import type { AppLogger } from '../../log.ts';
import { createIdentify } from '../auth.ts';
import { DEFAULT_BODY_LIMIT } from '../body.ts';
import { RouteTable } from '../route-table.ts';
import { routeRequests } from '../route-requests.ts';
import { closeServer, listen, serverUrl } from '../http-server-kit.ts';
import { openApiRoute } from '../openapi.ts';
import type { RouteMount } from './routes.ts';

export interface DashboardServerOptions {
  host: string;
  port: number;
  /** "token": the operator token (Bearer, or the dashboard cookie); "none": open, loopback hosts only. */
  auth: 'token' | 'none';
  operatorTokenHash?: string;
  log: AppLogger;
  /** What to call the port in error messages (the config key). */
  portSetting?: string;
}

export interface DashboardServer extends RouteMount {
  url: string;
  server: Server;
  /** Stops accepting and closes connections; end the streams first (the feed's close()). */
  close(): Promise<void>;
}

const DASHBOARD_INFO = {
  title: 'dispatcher dispatch-file dashboard',
  description:
    "The dashboard of `dispatcher dispatch-file`: the page, its live state (Server-Sent Events) and the same state as JSON, and the webhook receivers when they share this port. It has no task endpoints: agents read their task file and use `dispatcher task`. Errors are {\"error\": {\"code\", \"message\"}}.",
  tokens: 'The operator token (<state_dir>/operator-token); a browser signs in once with /?token= and keeps a cookie.',
};

/**
 * A small HTTP server for a daemon without the task API (`dispatch-file`): the API's route
 * table, auth rules (operator token, or auth = "none" on loopback only, with the Host check
 * against DNS rebinding) and JSON error answers, with no task route.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const setting = options.portSetting ?? 'dashboard_port';
  const open = openOnNetwork('dashboard_host', options.host, options.auth, 'would show your tasks and log to anyone who can reach this host');
  if (open) throw new ConfigError(open);
  const log = options.log.withTag('dashboard');
  const identify = createIdentify({ auth: options.auth, operatorTokenHash: options.operatorTokenHash, resolveRunToken: () => undefined });
  const table = new RouteTable();

  const handle = routeRequests({ table, identify, checkHost: options.auth === 'none', body: { maxBytes: DEFAULT_BODY_LIMIT, timeoutMs: 15_000 }, log });

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 });
  server.on('request', (request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await listen(server, options.host, options.port, 'the dashboard', setting);
  const port = (server.address() as AddressInfo).port;
  const url = serverUrl(options.host, port);
  table.add(openApiRoute({ routes: () => table.list(), auth: options.auth, version: process.env.DISPATCHER_VERSION ?? '0.1.0', serverUrl: () => url, info: DASHBOARD_INFO }));

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    route(method, path, handler, mount = {}) {
      table.add({ method, path, handler, access: mount.access ?? 'operator', doc: mount.doc });
    },
    close() {
      closing ??= closeServer(server);
      return closing;
    },
  };
}
