import { Agent, request } from 'undici';
import { AdapterError, type AdapterErrorKind } from '../src/errors.ts';
import { redact } from '../src/util/redact.ts';

/**
 * The JSON-over-HTTP client the tracker adapters share: timeouts on every request, retries with
 * backoff for idempotent reads, status codes mapped to AdapterError kinds, HTML never read as data,
 * and no credential in any message it builds.
 */
export interface HttpClientOptions {
  /** Shown in error messages: "Planka", "Gitea". */
  name: string;
  baseUrl: string;
  /** Auth and other headers, asked for on every request (tokens may change after a re-login). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  timeoutMs?: number;
  /** Extra attempts for GET on connection errors and 5xx. */
  retries?: number;
  retryDelayMs?: number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Retry this request even if it is not a GET (it must be idempotent). */
  idempotent?: boolean;
  headers?: Record<string, string>;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface HttpClient {
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<HttpResponse<T>>;
  close(): Promise<void>;
}

export function statusKind(status: number): AdapterErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'unavailable';
  return 'invalid';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dispatcher = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: Math.min(timeoutMs, 10_000), keepAliveTimeout: 4_000 });

  async function once<T>(method: string, path: string, opts: RequestOptions): Promise<HttpResponse<T>> {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...(await options.headers?.()), ...opts.headers };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const where = `${method} ${url.pathname}`;
    let response;
    try {
      response = await request(url, { method: method as 'GET', headers, body: payload, dispatcher, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
      throw new AdapterError('unavailable', `${options.name} unreachable (${where}): ${redact(reason)}`, { cause: error });
    }
    const text = await response.body.text();
    const contentType = String(response.headers['content-type'] ?? '');
    let body: unknown = undefined;
    if (text !== '' && contentType.includes('json')) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new AdapterError('bad_response', `${options.name} sent malformed JSON (${where} → ${response.statusCode})`, { status: response.statusCode });
      }
    }
    if (response.statusCode >= 400) {
      const detail = describeErrorBody(body, text, contentType);
      throw new AdapterError(statusKind(response.statusCode), redact(`${options.name} ${where} → ${response.statusCode}${detail ? `: ${detail}` : ''}`), { status: response.statusCode });
    }
    if (text !== '' && !contentType.includes('json')) {
      throw new AdapterError('bad_response', `${options.name} answered ${where} with ${contentType || 'no content type'}, not JSON: is the URL right, and is this route supported by the server?`, { status: response.statusCode });
    }
    return { status: response.statusCode, headers: response.headers, body: body as T };
  }

  return {
    async request<T>(method: string, path: string, opts: RequestOptions = {}) {
      const attempts = 1 + (method === 'GET' || opts.idempotent ? options.retries ?? 2 : 0);
      for (let attempt = 1; ; attempt++) {
        try {
          return await once<T>(method, path, opts);
        } catch (error) {
          const retryable = error instanceof AdapterError && error.kind === 'unavailable';
          if (!retryable || attempt >= attempts) throw error;
          await sleep((options.retryDelayMs ?? 250) * 2 ** (attempt - 1));
        }
      }
    },
    close: () => dispatcher.close(),
  };
}

function describeErrorBody(body: unknown, text: string, contentType: string): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const parts = [record.code, record.message ?? record.error].filter((part) => typeof part === 'string');
    if (parts.length > 0) return parts.join(' ');
  }
  if (contentType.includes('html')) return 'an HTML page';
  return text.slice(0, 200).trim();
}
