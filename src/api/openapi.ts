import type { RouteDefinition } from './route-table.ts';

/**
 * The OpenAPI 3.1 description of the API, built from the route table itself so that the document
 * and the server cannot drift apart (a test checks it against the served routes too).
 */
export interface OpenApiOptions {
  routes: RouteDefinition[];
  auth: 'token' | 'none';
  version: string;
  /** The URL the server answers on, when known. */
  serverUrl?: string;
  /** Which server this describes; the agent API by default. */
  info?: { title: string; description: string; tokens: string };
}

const AGENT_API_INFO = {
  title: 'dispatcher agent API',
  description:
    'The local HTTP API agents use to read and change their task without knowing the tracker. ' +
    'Errors are {"error": {"code", "message"}}. Task ids are single path segments: percent-encode them (owner%2Frepo%2312).',
  tokens: 'A run token ($DISPATCHER_TOKEN inside an agent) or the operator token (<state_dir>/operator-token).',
};

/** `GET /openapi.json` for a server whose routes are `routes()`: public, built on each request. */
export function openApiRoute(options: Omit<OpenApiOptions, 'routes' | 'serverUrl'> & { routes: () => RouteDefinition[]; serverUrl: () => string }): RouteDefinition {
  return {
    method: 'GET',
    path: '/openapi.json',
    access: 'public',
    handler: () => ({ json: buildOpenApiDocument({ ...options, routes: options.routes(), serverUrl: options.serverUrl() }) }),
    doc: { summary: 'This description of the API (OpenAPI 3.1)', responses: { 200: { description: 'The OpenAPI document', schema: { type: 'object' } } } },
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });

const errorStatuses: Record<string, string> = {
  400: 'Malformed JSON, a missing or mistyped field (named in the message), or a value the task service or tracker refused',
  401: 'No token, a malformed Authorization header, or an unknown or expired token',
  403: 'The token may not do this (a run token on another task, or an operator-only endpoint)',
  404: 'No such task or queue',
  408: 'The body did not arrive in time',
  409: 'The change clashes with the tracker\'s state',
  413: 'The body is over 1 MiB',
  415: 'The body is not declared as JSON (Content-Type: application/json)',
  429: 'The tracker asked the dispatcher to slow down',
  502: 'The tracker answered something unusable or refused the dispatcher\'s credentials',
  503: 'The tracker could not be reached or failed',
};

export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of options.routes) {
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = operation(route, options.auth);
  }
  const info = options.info ?? AGENT_API_INFO;
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: options.version, description: info.description },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    ...(options.auth === 'token' ? { security: [{ bearerAuth: [] }] } : {}),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: info.tokens },
      },
      schemas,
    },
  };
}

function operation(route: RouteDefinition, auth: 'token' | 'none'): Record<string, unknown> {
  const doc = route.doc ?? { summary: `${route.method} ${route.path}` };
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    description: name === 'task_id' ? 'The task id, percent-encoded (Gitea: owner%2Frepo%2312).' : undefined,
    schema: { type: 'string' },
  }));
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(doc.responses ?? { 200: { description: 'OK' } })) {
    responses[status] = { description: answer.description, ...(answer.schema ? { content: { [answer.contentType ?? 'application/json']: { schema: answer.schema } } } : {}) };
  }
  const errors = new Set<string>();
  if (doc.requestBody || pathParams.length > 0 || (doc.query?.length ?? 0) > 0) errors.add('400');
  if (route.access !== 'public' && auth === 'token') ['401', '403'].forEach((status) => errors.add(status));
  if (doc.requestBody) ['408', '413', '415'].forEach((status) => errors.add(status));
  if (route.path.startsWith('/tasks')) ['404', '409', '429', '502', '503'].forEach((status) => errors.add(status));
  for (const status of errors) responses[status] = { description: errorStatuses[status], content: json(ref('Error')) };
  return {
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    operationId: `${route.method.toLowerCase()}${route.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    ...(route.access === 'public' ? { security: [] } : {}),
    'x-access': route.access,
    ...(pathParams.length + (doc.query?.length ?? 0) > 0 ? { parameters: [...pathParams.map(dropUndefined), ...(doc.query ?? [])] } : {}),
    ...(doc.requestBody ? { requestBody: { required: true, content: json(doc.requestBody) } } : {}),
    responses,
  };
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));
}

const stringList = { type: 'array', items: { type: 'string' } };

const schemas: Record<string, unknown> = {
  Comment: {
    type: 'object',
    required: ['author', 'text', 'createdAt'],
    properties: { author: { type: 'string' }, text: { type: 'string' }, createdAt: { type: 'string', description: 'ISO 8601, or empty' } },
  },
  Task: {
    type: 'object',
    required: ['id', 'name', 'description', 'queue', 'labels', 'assignees', 'comments', 'url', 'createdAt'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      queue: { type: 'string', description: 'The queue the task is in now' },
      labels: stringList,
      assignees: stringList,
      comments: { type: 'array', items: ref('Comment') },
      url: { type: 'string', description: 'A link a human can open; empty when the tracker has none' },
      createdAt: { type: 'string' },
      updatedAt: { type: 'string' },
      author: { type: 'string' },
      priority: { type: 'integer', description: '0 CRITICAL, 1 HIGH, 2 NORMAL, 3 LOW' },
    },
  },
  TaskList: { type: 'object', required: ['tasks'], properties: { tasks: { type: 'array', items: ref('Task') } } },
  CommentRequest: { type: 'object', required: ['comment'], properties: { comment: { type: 'string', minLength: 1 } } },
  CommentResult: { type: 'object', required: ['ok', 'task_id'], properties: { ok: { const: true }, task_id: { type: 'string' } } },
  MoveRequest: { type: 'object', required: ['target_queue'], properties: { target_queue: { type: 'string', minLength: 1 } } },
  UpdateRequest: {
    type: 'object',
    minProperties: 1,
    properties: { name: { type: 'string', minLength: 1 }, description: { type: 'string' }, labels: stringList, assignees: stringList },
  },
  CreateRequest: {
    type: 'object',
    required: ['queue_name', 'name'],
    properties: { queue_name: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 }, description: { type: 'string' } },
  },
  Status: { type: 'object', description: 'Built by the router: running agents, free slots, last poll; `identity` is the tracker user the dispatcher acts as.', additionalProperties: true },
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'Stable, lower case: invalid_json, invalid_field, not_found, forbidden, ...' },
          message: { type: 'string' },
          queue: { type: 'string', description: 'With not_found: the queue that does not exist, when that is what failed.' },
        },
      },
    },
  },
};
