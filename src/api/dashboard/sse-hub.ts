import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseClient {
  /** Writes one event; false when the client is gone or was dropped for reading too slowly. */
  send(event: string, data: unknown): boolean;
  readonly open: boolean;
}

export interface SseHub {
  /** Turns the response into an event stream; the client leaves the hub when its connection closes. */
  accept(request: IncomingMessage, response: ServerResponse): SseClient;
  broadcast(event: string, data: unknown): void;
  readonly size: number;
  /** Ends every stream (so the server's close() does not wait for them) and refuses new ones. */
  close(): void;
}

export interface SseHubOptions {
  /** A comment line this often keeps proxies and idle timers from cutting the stream (default 15 s). */
  keepAliveMs?: number;
  /** The browser waits this long before reconnecting (the `retry:` field; default 2 s). */
  retryMs?: number;
  /** A client whose unread output exceeds this is dropped; it reconnects and starts afresh. */
  maxBufferedBytes?: number;
  /** Called when the number of clients changes. */
  onSizeChange?: (size: number) => void;
}

/** Server-Sent Events fan-out: one place that knows every open stream. */
export function createSseHub(options: SseHubOptions = {}): SseHub {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  const clients = new Set<ServerResponse>();
  let closed = false;
  let keepAlive: NodeJS.Timeout | undefined;

  function drop(response: ServerResponse): void {
    if (!clients.delete(response)) return;
    if (clients.size === 0 && keepAlive) {
      clearInterval(keepAlive);
      keepAlive = undefined;
    }
    options.onSizeChange?.(clients.size);
  }

  function write(response: ServerResponse, chunk: string): boolean {
    if (!clients.has(response) || response.destroyed || response.writableEnded) {
      drop(response);
      return false;
    }
    response.write(chunk);
    if (response.writableLength > maxBuffered) {
      drop(response);
      response.destroy();
      return false;
    }
    return true;
  }

  return {
    accept(request, response) {
      if (closed) {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '2', connection: 'close' });
        response.end('shutting down\n');
        return { send: () => false, open: false };
      }
      request.socket.setNoDelay(true);
      request.socket.setKeepAlive(true);
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
      });
      response.write(`retry: ${options.retryMs ?? 2_000}\n\n`);
      clients.add(response);
      options.onSizeChange?.(clients.size);
      keepAlive ??= setInterval(() => {
        for (const client of [...clients]) write(client, ': keep-alive\n\n');
      }, keepAliveMs).unref();
      const leave = () => drop(response);
      request.once('close', leave);
      response.once('close', leave);
      response.once('error', leave);
      return {
        send: (event, data) => write(response, frame(event, data)),
        get open() {
          return clients.has(response);
        },
      };
    },
    broadcast(event, data) {
      if (clients.size === 0) return;
      const chunk = frame(event, data);
      for (const client of [...clients]) write(client, chunk);
    },
    get size() {
      return clients.size;
    },
    close() {
      closed = true;
      if (keepAlive) clearInterval(keepAlive);
      keepAlive = undefined;
      for (const response of [...clients]) {
        clients.delete(response);
        response.end();
      }
    },
  };
}

/** JSON never contains a raw newline, so one `data:` line carries the whole event. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
