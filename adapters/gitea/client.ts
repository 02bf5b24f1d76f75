import { createHttpClient, type HttpClient } from '../http.ts';
import { AdapterError } from '../../src/errors.ts';

/** The parts of Gitea's JSON the adapter reads (1.15 and later). */
export interface GiteaUser {
  login: string;
}

export interface GiteaLabel {
  id: number;
  name: string;
}

export interface GiteaIssue {
  number: number;
  title: string;
  body?: string | null;
  html_url?: string;
  state: 'open' | 'closed';
  user?: GiteaUser | null;
  labels?: GiteaLabel[] | null;
  assignee?: GiteaUser | null;
  /** null when nobody is assigned. */
  assignees?: GiteaUser[] | null;
  created_at?: string;
  updated_at?: string;
  /** Non-null for pull requests. */
  pull_request?: unknown;
  repository?: { owner?: string; name?: string; full_name?: string } | null;
}

export interface GiteaComment {
  body?: string | null;
  user?: GiteaUser | null;
  created_at?: string;
}

export interface GiteaRepository {
  name: string;
  full_name?: string;
  owner?: GiteaUser | null;
  archived?: boolean;
  has_issues?: boolean;
}

/** Gitea's page size ceiling (MAX_RESPONSE_ITEMS, 50 by default). */
export const PAGE_LIMIT = 50;
/** Pages read at once when the total is known: hides latency to a remote Gitea without hammering it. */
const PAGE_CONCURRENCY = 4;
const MAX_PAGES = 2_000;

export interface GiteaClientOptions {
  /** The server's address, with or without `/api/v1`. */
  url: string;
  token: string;
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
}

export interface GiteaClient {
  http: HttpClient;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  /** Every page of a list endpoint, in order. */
  getAll<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T[]>;
  send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export function apiBase(url: string): string {
  return `${url.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1`;
}

export function createGiteaClient(options: GiteaClientOptions): GiteaClient {
  const http = createHttpClient({
    name: 'Gitea',
    baseUrl: apiBase(options.url),
    headers: () => ({ authorization: `token ${options.token}` }),
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
  });

  async function page<T>(path: string, query: Record<string, string | number | undefined>, number: number) {
    const response = await http.request<T[]>('GET', path, { query: { ...query, limit: PAGE_LIMIT, page: number } });
    if (!Array.isArray(response.body)) {
      throw new AdapterError('bad_response', `Gitea GET ${path} answered something that is not a list`);
    }
    const total = Number(header(response.headers, 'x-total-count'));
    const link = header(response.headers, 'link');
    let next = nextPage(link);
    // Some lists (labels on 1.15) carry no paging headers: a full page means there may be more.
    // With a total, no Link means no more (exactly one full page is all of it).
    if (next === undefined && link === undefined && !Number.isFinite(total) && response.body.length >= PAGE_LIMIT) next = number + 1;
    return { items: response.body, total: Number.isFinite(total) ? total : undefined, next };
  }

  return {
    http,
    async get<T>(path: string, query?: Record<string, string | number | undefined>) {
      return (await http.request<T>('GET', path, { query })).body;
    },
    async getAll<T>(path: string, query: Record<string, string | number | undefined> = {}) {
      const first = await page<T>(path, query, 1);
      const pages: T[][] = [first.items];
      const size = first.items.length;
      let last = first;
      let number = 1;
      // With the total known, the remaining pages are fetched a few at a time instead of one by one.
      if (first.total !== undefined && size > 0 && first.total > size) {
        const count = Math.min(Math.ceil(first.total / size), MAX_PAGES);
        const rest = await mapLimit(range(2, count), PAGE_CONCURRENCY, (n) => page<T>(path, query, n));
        for (const result of rest) pages.push(result.items);
        number = count;
        last = rest[rest.length - 1] ?? first;
      }
      // Follow Link while it says there is more (no total, or issues were added while we read).
      while (last.next !== undefined && last.next > number && last.items.length > 0 && number < MAX_PAGES) {
        number = last.next;
        last = await page<T>(path, query, number);
        pages.push(last.items);
      }
      return pages.flat();
    },
    async send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown) {
      // PUT and DELETE replace or remove: safe to retry when Gitea's database was busy.
      return (await http.request<T>(method, path, { body, idempotent: method === 'PUT' || method === 'DELETE' })).body;
    },
    close: () => http.close(),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The page number of rel="next". Its host is the server's ROOT_URL, which may not be ours. */
export function nextPage(link: string | undefined): number | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (!match) continue;
    const pageText = /[?&]page=(\d+)/.exec(match[1])?.[1];
    return pageText === undefined ? undefined : Number(pageText);
  }
  return undefined;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
