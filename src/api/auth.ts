import { isLoopbackHost } from '../util/loopback.ts';
import type { IncomingMessage } from 'node:http';
import { hashToken, sameHash } from '../core/runs/run-token.ts';
import { ApiError } from './errors.ts';

/**
 * Who is calling:
 * - `operator`: holds the operator token; may do everything.
 * - `run`: holds one run's token; may read, comment on, move and update that run's task, create
 *   tasks and read /status, nothing else.
 * - `open`: the server runs with auth = "none" (the reference's behaviour); may do everything.
 * - `anonymous`: no token; may reach public routes only (/openapi.json).
 */
export type Caller =
  | { kind: 'operator' }
  | { kind: 'run'; runId: string; taskId: string; agent?: string }
  /** With auth = "none"; `runId` when it still sent its run's token (an agent's own change). */
  | { kind: 'open'; runId?: string }
  | { kind: 'anonymous' };

/**
 * What a route lets in. `own-task` is for routes with a `{task_id}` segment: a run token must be
 * bound to that task. `run` is any live run token. The operator (and auth = "none") pass all.
 */
export type Access = 'public' | 'operator' | 'run' | 'own-task';

/** The run a token belongs to; `agent` is its agent kind (claude, codex, command). */
export interface TokenRun {
  runId: string;
  taskId: string;
  agent?: string;
}

export type ResolveRunToken = (hash: string) => TokenRun | undefined | Promise<TokenRun | undefined>;

export interface AuthOptions {
  auth: 'token' | 'none';
  operatorTokenHash?: string;
  resolveRunToken: ResolveRunToken;
}

export type Identify = (token: string | undefined) => Promise<Caller>;

/** Turns a token into a caller; the token is hashed first and compared in constant time. */
export function createIdentify(options: AuthOptions): Identify {
  return async (token) => {
    if (options.auth === 'none') {
      // Everyone may do everything; a run's token still says whose change it is.
      const run = token ? await options.resolveRunToken(hashToken(token)) : undefined;
      return run ? { kind: 'open', runId: run.runId } : { kind: 'open' };
    }
    if (!token) return { kind: 'anonymous' };
    const hash = hashToken(token);
    if (options.operatorTokenHash && sameHash(hash, options.operatorTokenHash)) return { kind: 'operator' };
    const run = await options.resolveRunToken(hash);
    if (run) return { kind: 'run', runId: run.runId, taskId: run.taskId, agent: run.agent };
    throw new ApiError(401, 'unauthorized', 'unknown or expired token (a run\'s token ends with its run)', { 'www-authenticate': 'Bearer error="invalid_token"' });
  };
}

/** The token of `Authorization: Bearer <token>`; a malformed header is a 401, never ignored. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^bearer +(\S+) *$/i.exec(header);
  if (!match) throw new ApiError(401, 'unauthorized', 'malformed Authorization header: give the token with the Bearer scheme', { 'www-authenticate': 'Bearer' });
  return match[1];
}

/** The run a change is made for, when the caller holds a run's token. */
export function callerRun(caller: Caller): string | undefined {
  return caller.kind === 'run' || caller.kind === 'open' ? caller.runId : undefined;
}

export function authorize(caller: Caller, access: Access, params: Record<string, string>): void {
  if (access === 'public' || caller.kind === 'operator' || caller.kind === 'open') return;
  if (caller.kind === 'anonymous') {
    throw new ApiError(401, 'unauthorized', 'this endpoint needs a token in the Authorization header, Bearer scheme: $DISPATCHER_TOKEN inside an agent, or the operator token', { 'www-authenticate': 'Bearer' });
  }
  if (access === 'run') return;
  if (access === 'own-task' && params.task_id === caller.taskId) return;
  if (access === 'own-task') {
    throw new ApiError(403, 'forbidden', `this run's token is for task "${caller.taskId}" only; it may create tasks and read /status, but not touch other tasks`);
  }
  throw new ApiError(403, 'forbidden', 'this endpoint needs the operator token; a run\'s token may only work on its own task, create tasks and read /status');
}

/**
 * With auth = "none" on loopback, a request must name a loopback host: a web page that re-points
 * its own domain at 127.0.0.1 (DNS rebinding) then cannot reach the open API from a browser.
 */
export function assertLoopbackHostHeader(request: IncomingMessage): void {
  const header = request.headers.host;
  if (header === undefined) return;
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d*$/, '');
  if (!isLoopbackHost(name)) {
    throw new ApiError(403, 'forbidden', `Host "${header}" is not a loopback name; with auth = "none" the API only answers requests addressed to localhost or 127.0.0.1`);
  }
}
