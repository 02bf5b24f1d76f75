import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppLogger } from '../log.ts';
import { assertLoopbackHostHeader, authorize, bearerToken, type Caller, type Identify } from './auth.ts';
import { readJsonObject } from './body.ts';
import { toErrorReply } from './errors.ts';
import { parseTarget, send } from './http-server-kit.ts';
import { AllowAnswer, type RouteTable } from './route-table.ts';

export interface RouteRequestsOptions {
  table: RouteTable;
  identify: Identify;
  /** auth = "none" on loopback: refuse Host headers that are not loopback names (DNS rebinding). */
  checkHost: boolean;
  body: { maxBytes: number; timeoutMs: number };
  log: AppLogger;
}

/**
 * One request through the route table, as both servers (the agent API and dispatch-file's
 * dashboard) answer it: match, identify, authorize, run the handler, and turn every failure into a
 * JSON error. Never throws.
 */
export function routeRequests(options: RouteRequestsOptions): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const { table, identify, log } = options;

  function sendError(request: IncomingMessage, response: ServerResponse, error: unknown, pathname: string): void {
    const reply = toErrorReply(error);
    if (reply.status === 500) log.error('unexpected error on %s %s: %s', request.method, pathname, (error as Error)?.stack ?? String(error));
    else if (reply.serverFault) log.warn('%s %s → %d: %s', request.method, pathname, reply.status, reply.body.error.message);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    const headers = { ...reply.headers, ...(reply.closeConnection ? { connection: 'close' } : {}) };
    send(response, { status: reply.status, headers, json: reply.body });
  }

  return async (request, response) => {
    const started = performance.now();
    const method = request.method ?? 'GET';
    let pathname = '?';
    let caller: Caller = { kind: 'anonymous' };
    try {
      const target = parseTarget(request.url);
      pathname = target.pathname;
      if (options.checkHost) assertLoopbackHostHeader(request);
      const { route, params } = table.match(method, pathname);
      const identified = Promise.resolve().then(() => identify(bearerToken(request)));
      // A public route ignores a bad token instead of refusing the request.
      caller = await (route.access === 'public' ? identified.catch((): Caller => ({ kind: 'anonymous' })) : identified);
      authorize(caller, route.access, params);
      let body: Promise<Record<string, unknown>> | undefined;
      const reply = await route.handler({
        request,
        response,
        params,
        query: target.searchParams,
        caller,
        readJson: () => (body ??= readJsonObject(request, options.body)),
        identify: (token) => identify(token),
      });
      if (reply) send(response, reply);
    } catch (error) {
      if (error instanceof AllowAnswer) send(response, { status: 204, headers: { allow: error.allow } });
      else sendError(request, response, error, pathname);
    } finally {
      const who = caller.kind === 'run' ? `run ${caller.runId}` : caller.kind;
      log.debug('%s %s → %d in %d ms (%s)', method, pathname, response.statusCode, Math.round(performance.now() - started), who);
    }
  };
}
