import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.ts';
import { openOnNetwork } from '../config/rules.ts';
import type { AppLogger } from '../log.ts';
import type { TaskService } from '../core/task-service.ts';
import { createIdentify, type Access, type ResolveRunToken } from './auth.ts';
import { DEFAULT_BODY_LIMIT } from './body.ts';
import { openApiRoute } from './openapi.ts';
import { closeServer, listen, serverUrl } from './http-server-kit.ts';
import { routeRequests } from './route-requests.ts';
import { RouteTable, type OperationDoc, type RouteHandler } from './route-table.ts';
import { type AgentMoveRecorder, taskRoutes } from './routes.ts';

export { ensureOperatorToken, readOperatorToken, type OperatorToken } from './operator-token.ts';
export type { Access, Caller } from './auth.ts';
export type { OperationDoc, Reply, RouteContext, RouteHandler } from './route-table.ts';

export interface ServerLimits {
  /** Largest request body (default 1 MiB; 413 above). */
  bodyBytes: number;
  /** A body must arrive within this long once a handler reads it (default 15 s; 408). */
  bodyTimeoutMs: number;
  /** All request headers must arrive within this long (default 10 s). */
  headersTimeoutMs: number;
  /** The whole request must arrive within this long (default 30 s). */
  requestTimeoutMs: number;
  /** Idle keep-alive connections close after this long (default 5 s). */
  keepAliveTimeoutMs: number;
}

export interface ApiServerOptions {
  /** Address to bind: "127.0.0.1" (default of the config), "::1", "0.0.0.0"... */
  host: string;
  /** 0 picks a free port; read the real one from `url`. */
  port: number;
  /** "token": run tokens and the operator token; "none": open (loopback hosts only). */
  auth: 'token' | 'none';
  service: TaskService;
  /** Resolve a run token's sha256 hash to the run it belongs to (active runs only), or undefined. */
  resolveRunToken: ResolveRunToken;
  /** sha256 of the operator token (see ensureOperatorToken); without it only run tokens work. */
  operatorTokenHash?: string;
  /** Remembers a move an agent made of its own task through its run token (reconciliation tells it from a person's). */
  recordAgentMove?: AgentMoveRecorder;
  /** The GET /status payload, built by the router. Include `identity` (tracker user) for `whoami`. */
  status: () => unknown | Promise<unknown>;
  log: AppLogger;
  limits?: Partial<ServerLimits>;
  /** Shown in /openapi.json. */
  version?: string;
}

export interface MountOptions {
  /** Who may call it; default "operator". */
  access?: Access;
  /** Its entry in /openapi.json; a bare summary is made up when left out. */
  doc?: OperationDoc;
}

export interface ApiServer {
  /** `http://127.0.0.1:8000`: where agents on this host reach the API (DISPATCHER_API_URL); loopback for a wildcard bind. */
  url: string;
  server: Server;
  /** Mounts another endpoint behind the same auth (the dashboard: GET /, /events, /api/v1/state). */
  route(method: string, path: string, handler: RouteHandler, options?: MountOptions): void;
  /** Every mounted endpoint. */
  routes(): Array<{ method: string; path: string; access: Access }>;
  /** Stops accepting, closes idle connections, and cuts the rest (streams) after a short grace. */
  close(): Promise<void>;
}

const defaults: ServerLimits = { bodyBytes: DEFAULT_BODY_LIMIT, bodyTimeoutMs: 15_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

/**
 * Starts the agents' HTTP API: the reference's task endpoints over the task service, /status,
 * /openapi.json, scoped tokens, and JSON errors for everything that can go wrong. No request can
 * crash it: every failure becomes an `{"error": {"code", "message"}}` answer.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const open = openOnNetwork('api_host', options.host, options.auth, 'would let anyone who can reach this host read and change your tasks');
  if (open) throw new ConfigError(open);
  const limits = { ...defaults, ...options.limits };
  const log = options.log.withTag('api');
  const identify = createIdentify(options);
  const table = new RouteTable();
  for (const route of taskRoutes(options.service, options.status, options.recordAgentMove)) table.add(route);
  let url = '';
  table.add(openApiRoute({ routes: () => table.list(), auth: options.auth, version: options.version ?? process.env.DISPATCHER_VERSION ?? '0.1.0', serverUrl: () => url }));

  const handle = routeRequests({ table, identify, checkHost: options.auth === 'none', body: { maxBytes: limits.bodyBytes, timeoutMs: limits.bodyTimeoutMs }, log });

  const server = createServer({
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2))),
  });
  server.on('request', (request, response) => {
    handle(request, response).catch((error) => {
      log.error('request handling failed: %s', (error as Error)?.stack ?? String(error));
      response.destroy();
    });
  });
  server.on('clientError', answerClientError);
  server.on('connect', (_request: IncomingMessage, socket: Socket) => writeRawError(socket, 405, 'Method Not Allowed', 'method_not_allowed', 'CONNECT is not supported'));

  await listen(server, options.host, options.port, 'the API', 'api_port');
  const port = (server.address() as AddressInfo).port;
  // Agents run on this host: a wildcard bind is reached through loopback.
  const reachable = options.host === '0.0.0.0' ? '127.0.0.1' : options.host === '::' ? '::1' : options.host;
  url = serverUrl(reachable, port);
  log.info('API listening on %s (auth: %s)%s', url, options.auth, reachable === options.host ? '' : `, bound to ${options.host}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    route(method, path, handler, mount = {}) {
      table.add({ method, path, handler, access: mount.access ?? 'operator', doc: mount.doc });
    },
    routes: () => table.list().map(({ method, path, access }) => ({ method, path, access })),
    close() {
      closing ??= closeServer(server);
      return closing;
    },
  };
}


/** Requests node cannot even parse (garbage, huge headers, timeouts) still get a JSON answer. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (pending && !pending.writableFinished && !pending.destroyed) {
    // An answer to the previous request is still being made: let it out first, then hang up.
    pending.once('close', () => socket.destroy());
    return;
  }
  // HPE_CLOSED_CONNECTION: bytes after a request that said "Connection: close"; it has its answer.
  if (error.code === 'ECONNRESET' || error.code === 'HPE_CLOSED_CONNECTION' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
        : [400, 'Bad Request', 'invalid_request', 'malformed HTTP request'];
  writeRawError(socket, status, reason, code, message);
}

function writeRawError(socket: Socket, status: number, reason: string, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
