import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../errors.ts';
import type { AppLogger } from '../../log.ts';
import { assertLoopbackHostHeader, authorize, bearerToken, createIdentify, isLoopbackHost, type Caller } from '../auth.ts';
import { DEFAULT_BODY_LIMIT, readJsonObject } from '../body.ts';
import { toErrorReply } from '../errors.ts';
import { AllowAnswer, RouteTable } from '../route-table.ts';
import { closeServer, listen, parseTarget, send, serverUrl } from '../http-server-kit.ts';
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

/**
 * A small HTTP server for a daemon without the task API (`dispatch-file`): the API's route
 * table, auth rules (operator token, or auth = "none" on loopback only, with the Host check
 * against DNS rebinding) and JSON error answers, with no task route.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const loopback = isLoopbackHost(options.host);
  const setting = options.portSetting ?? 'dashboard_port';
  if (options.auth === 'none' && !loopback) {
    throw new ConfigError(`dashboard on "${options.host}" with [api] auth = "none" would show your tasks and log to anyone who can reach this host; bind 127.0.0.1 or set [api] auth = "token"`);
  }
  const log = options.log.withTag('dashboard');
  const identify = createIdentify({ auth: options.auth, operatorTokenHash: options.operatorTokenHash, resolveRunToken: () => undefined });
  const table = new RouteTable();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    try {
      const target = parseTarget(request.url);
      if (options.auth === 'none') assertLoopbackHostHeader(request);
      const { route, params } = table.match(method, target.pathname);
      const identified = Promise.resolve().then(() => identify(bearerToken(request)));
      // A public route ignores a bad token instead of refusing the request.
      const caller = await (route.access === 'public' ? identified.catch((): Caller => ({ kind: 'anonymous' })) : identified);
      authorize(caller, route.access, params);
      const reply = await route.handler({
        request,
        response,
        params,
        query: target.searchParams,
        caller,
        readJson: () => readJsonObject(request, { maxBytes: DEFAULT_BODY_LIMIT, timeoutMs: 15_000 }),
        identify,
      });
      if (reply) send(response, reply);
    } catch (error) {
      if (error instanceof AllowAnswer) return send(response, { status: 204, headers: { allow: error.allow } });
      const reply = toErrorReply(error);
      if (reply.status === 500) log.error('unexpected error on %s %s: %s', method, request.url?.split('?')[0], (error as Error)?.stack ?? String(error));
      if (response.headersSent) {
        response.destroy();
        return;
      }
      send(response, { status: reply.status, headers: { ...reply.headers, ...(reply.closeConnection ? { connection: 'close' } : {}) }, json: reply.body });
    }
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 });
  server.on('request', (request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await listen(server, options.host, options.port, 'the dashboard', setting);
  const port = (server.address() as AddressInfo).port;
  const url = serverUrl(options.host, port);

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
