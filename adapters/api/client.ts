import { Agent, request } from 'undici';
import { AdapterError } from '../../src/errors.ts';
import { redact } from '../../src/util/redact.ts';
import { statusKind } from '../http.ts';
import type { Logger } from '../types.ts';

/**
 * A client of the dispatcher's own API. A refused connection is retried for `retryMs` (the
 * dispatcher may be restarting under a running agent): nothing reached the server, so even a POST
 * is safe to send again. Any other failure is not retried. Error answers map back to AdapterError
 * kinds by status, with the server's message.
 */
export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  /** Keep retrying a refused connection this long (ms). */
  retryMs: number;
  timeoutMs?: number;
  log: Logger;
}

export interface ApiClient {
  call<T>(method: string, path: string, options?: { body?: unknown; query?: Array<[string, string]> }): Promise<T>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dispatcher = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: 10_000, keepAliveTimeout: 4_000 });
  const headers: Record<string, string> = { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };

  async function once<T>(method: string, path: string, body: unknown, query: Array<[string, string]>): Promise<T> {
    const url = new URL(base + path);
    for (const [key, value] of query) url.searchParams.append(key, value);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const response = await request(url, {
      method: method as 'GET',
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: payload,
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    const where = `${method} ${url.pathname}`;
    const isJson = String(response.headers['content-type'] ?? '').includes('json');
    let parsed: unknown;
    if (isJson && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new AdapterError('bad_response', `the dispatcher API sent malformed JSON (${where} → ${response.statusCode})`, { status: response.statusCode });
      }
    }
    if (response.statusCode >= 400) {
      const { message, queue } = (parsed as { error?: { message?: unknown; queue?: unknown } } | undefined)?.error ?? {};
      const text = typeof message === 'string' ? message : `the dispatcher API answered ${where} with ${response.statusCode}`;
      throw new AdapterError(statusKind(response.statusCode), redact(text), { status: response.statusCode, queue: typeof queue === 'string' ? queue : undefined });
    }
    if (!isJson) throw new AdapterError('bad_response', `the dispatcher API answered ${where} with ${response.headers['content-type'] ?? 'no content type'}, not JSON: is ${base} the dispatcher's API?`, { status: response.statusCode });
    return parsed as T;
  }

  return {
    async call<T>(method: string, path: string, opts: { body?: unknown; query?: Array<[string, string]> } = {}) {
      const deadline = Date.now() + options.retryMs;
      let delay = 100;
      let warned = false;
      for (;;) {
        try {
          return await once<T>(method, path, opts.body, opts.query ?? []);
        } catch (error) {
          if (error instanceof AdapterError) throw error;
          const refused = isConnectionRefused(error);
          const remaining = deadline - Date.now();
          if (refused && remaining > 0) {
            if (!warned) options.log.warn(`the dispatcher API at ${base} refused the connection; retrying for up to ${Math.round(options.retryMs / 1000)} s`);
            warned = true;
            await sleep(Math.min(delay, remaining));
            delay = Math.min(delay * 2, 1_000);
            continue;
          }
          const reason = refused ? 'connection refused' : (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message || String(error);
          const hint = refused ? ' (is the dispatcher running? DISPATCHER_API_URL points to it)' : '';
          throw new AdapterError('unavailable', redact(`cannot reach the dispatcher API at ${base}: ${reason}${hint}`), { cause: error });
        }
      }
    },
    close: () => dispatcher.close(),
  };
}

function isConnectionRefused(error: unknown): boolean {
  const candidate = error as { code?: string; cause?: unknown; errors?: unknown[] } | undefined;
  if (!candidate) return false;
  if (candidate.code === 'ECONNREFUSED') return true;
  if (Array.isArray(candidate.errors) && candidate.errors.some(isConnectionRefused)) return true;
  return candidate.cause !== undefined && candidate.cause !== error && isConnectionRefused(candidate.cause);
}
