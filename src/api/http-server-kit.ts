import type { Server, ServerResponse } from 'node:http';
import { ConfigError } from '../errors.ts';
import { ApiError } from './errors.ts';
import type { Reply } from './route-table.ts';

/** What the agent API and the dispatch-file dashboard server share: replies, targets, listen, close. */

const CLOSE_GRACE_MS = 2_000;

export function send(response: ServerResponse, reply: Reply): void {
  let payload: string | Buffer | undefined = reply.raw;
  const headers: Record<string, string | number> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...reply.headers };
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = payload === undefined ? 0 : Buffer.byteLength(payload);
  response.writeHead(reply.status ?? 200, headers);
  response.end(payload);
}

/** The request target as a URL; a malformed one is a 400. */
export function parseTarget(target: string | undefined): URL {
  const raw = target ?? '/';
  try {
    return new URL(raw.startsWith('/') ? `http://localhost${raw}` : raw);
  } catch {
    throw new ApiError(400, 'invalid_request', 'malformed request target');
  }
}

/** Listens, or says in a ConfigError why not (naming the setting to change). */
export function listen(server: Server, host: string, port: number, what: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? `the port is in use (another dispatcher?); set ${setting}, or 0 for a free one` : error.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : error.message;
      reject(new ConfigError(`cannot serve ${what} on ${host}:${port}: ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops accepting, closes idle connections, and cuts the rest (streams) after a short grace. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** `http://host:port`, with IPv6 hosts in brackets. */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
