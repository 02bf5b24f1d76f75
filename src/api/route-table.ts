import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access, Caller, Identify } from './auth.ts';
import { ApiError } from './errors.ts';

export interface RouteContext {
  request: IncomingMessage;
  response: ServerResponse;
  /** Path parameters, percent-decoded: `/tasks/owner%2Frepo%2312` gives `task_id` "owner/repo#12". */
  params: Record<string, string>;
  query: URLSearchParams;
  caller: Caller;
  /** The JSON object body (415 unless JSON, 413 over the limit, 408 when too slow, 400 if malformed). */
  readJson(): Promise<Record<string, unknown>>;
  /** Checks another token (e.g. a dashboard's cookie) the way the Authorization header is checked. */
  identify: Identify;
}

/**
 * What a handler returns: `json` is sent as JSON; `raw` is sent as is with the headers given
 * (set content-type). Returning undefined means the handler wrote the response itself (streams).
 */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: string | Buffer;
}

export type RouteHandler = (context: RouteContext) => Reply | undefined | Promise<Reply | undefined>;

/** OpenAPI details of one operation; openapi.ts fills in what is left out. */
export interface OperationDoc {
  summary: string;
  description?: string;
  /** A schema (or `$ref`) for the JSON request body. */
  requestBody?: Record<string, unknown>;
  /** Query parameters as OpenAPI parameter objects. */
  query?: Array<Record<string, unknown>>;
  /** Status → description and JSON schema of the answer. */
  responses?: Record<string, { description: string; schema?: Record<string, unknown>; contentType?: string }>;
}

export interface RouteDefinition {
  method: string;
  /** OpenAPI-style: `/tasks/{task_id}/comments`. */
  path: string;
  access: Access;
  handler: RouteHandler;
  doc?: OperationDoc;
}

interface CompiledRoute extends RouteDefinition {
  segments: string[];
}

export type RouteMatch = { route: RouteDefinition; params: Record<string, string> };

export class RouteTable {
  private readonly routes: CompiledRoute[] = [];

  add(route: RouteDefinition): void {
    const method = route.method.toUpperCase();
    if (!route.path.startsWith('/')) throw new Error(`route path must start with "/": ${route.path}`);
    if (this.routes.some((known) => known.method === method && known.path === route.path)) throw new Error(`route ${method} ${route.path} is already mounted`);
    this.routes.push({ ...route, method, segments: split(route.path) });
  }

  list(): RouteDefinition[] {
    return this.routes.map(({ segments: _segments, ...route }) => route);
  }

  /** The route for a request; ApiError 404 for an unknown path, 405 (with Allow) for a wrong method. */
  match(method: string, pathname: string): RouteMatch {
    const parts = split(pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params: decodeParams(params) };
      allowed.push(route.method);
    }
    if (allowed.length === 0) throw new ApiError(404, 'route_not_found', `no endpoint ${pathname}; see GET /openapi.json`);
    if (allowed.includes('GET')) allowed.push('HEAD');
    const allow = [...new Set([...allowed, 'OPTIONS'])].join(', ');
    if (method === 'OPTIONS') throw new AllowAnswer(allow);
    throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${pathname}; allowed: ${allow}`, { allow });
  }
}

/** OPTIONS on a known path: answered 204 with Allow (no CORS: browsers are not served). */
export class AllowAnswer extends Error {
  constructor(readonly allow: string) {
    super('options');
  }
}

function split(path: string): string[] {
  return path.split('/').slice(1);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index];
    const actual = parts[index];
    if (expected.startsWith('{') && expected.endsWith('}')) {
      if (actual === '') return undefined;
      params[expected.slice(1, -1)] = actual;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      throw new ApiError(400, 'invalid_request', `malformed percent-encoding in the path segment for ${name}`);
    }
  }
  return params;
}
