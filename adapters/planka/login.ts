import { request, type Dispatcher } from 'undici';
import { AdapterError } from '../../src/errors.ts';
import { redact, registerSecret } from '../../src/util/redact.ts';
import { statusKind, type HttpClient } from '../http.ts';
import type { Logger } from '../types.ts';

/**
 * Password login, 1.x and 2.x. A 2.x user who has not accepted the terms gets 403 with
 * `step: "accept-terms"` and a pending token (v2-01, v2-51); the adapter then reads the terms'
 * signature (GET /api/terms) and accepts them (POST /api/access-tokens/accept-terms), which returns
 * the token (v2-02, v2-03, v2-52). These calls read the body of an error answer, which the shared
 * HTTP client does not expose, so they use undici directly, with the same timeout.
 */
export interface LoginDeps {
  baseUrl: string;
  timeoutMs: number;
  dispatcher: Dispatcher;
  /** For GET /api/terms (public, retried like any read). */
  http: HttpClient;
  log: Logger;
}

interface RawAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export async function logIn(deps: LoginDeps, username: string, password: string): Promise<string> {
  const answer = await postJson(deps, '/api/access-tokens', { emailOrUsername: username, password });
  if (answer.status === 403 && answer.body?.step === 'accept-terms' && typeof answer.body.pendingToken === 'string') {
    registerSecret(answer.body.pendingToken);
    return acceptTerms(deps, username, answer.body.pendingToken);
  }
  return tokenFrom(answer, `login as "${username}"`, 'check PLANKA_USER and PLANKA_PASSWORD');
}

async function acceptTerms(deps: LoginDeps, username: string, pendingToken: string): Promise<string> {
  const terms = await deps.http.request<{ item?: { signature?: unknown } }>('GET', '/api/terms');
  const signature = terms.body?.item?.signature;
  if (typeof signature !== 'string') throw new AdapterError('bad_response', 'Planka GET /api/terms gave no terms signature');
  deps.log.info(`Planka asks "${username}" to accept its terms before the first login: accepting them for this account`);
  const answer = await postJson(deps, '/api/access-tokens/accept-terms', { pendingToken, signature });
  return tokenFrom(answer, `accepting the terms for "${username}"`, 'log in once in the web app to accept them by hand');
}

/** Ends a session the adapter opened (best effort, short timeout). */
export async function logOut(deps: LoginDeps, token: string): Promise<void> {
  try {
    const response = await request(`${deps.baseUrl}/api/access-tokens/me`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
      dispatcher: deps.dispatcher,
      signal: AbortSignal.timeout(Math.min(deps.timeoutMs, 2_000)),
    });
    await response.body.dump();
  } catch (error) {
    deps.log.debug(`Planka logout failed: ${redact((error as Error).message)}`);
  }
}

function tokenFrom(answer: RawAnswer, what: string, hint: string): string {
  const token = answer.body?.item;
  if (answer.status === 200 && typeof token === 'string' && token !== '') {
    registerSecret(token);
    return token;
  }
  if (answer.status === 200) throw new AdapterError('bad_response', `Planka ${what}: the answer carries no token`, { status: 200 });
  const detail = [answer.body?.code, answer.body?.message].filter((part) => typeof part === 'string').join(' ');
  const kind = answer.status === 401 || answer.status === 403 ? 'auth' : statusKind(answer.status);
  throw new AdapterError(kind, redact(`Planka ${what} failed (${answer.status}${detail ? ` ${detail}` : ''}): ${hint}`), { status: answer.status });
}

async function postJson(deps: LoginDeps, path: string, payload: unknown): Promise<RawAnswer> {
  const where = `POST ${path}`;
  let response;
  try {
    response = await request(deps.baseUrl + path, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      dispatcher: deps.dispatcher,
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${deps.timeoutMs} ms` : (error as Error).message;
    throw new AdapterError('unavailable', redact(`Planka unreachable (${where}): ${reason}`), { cause: error });
  }
  const text = await response.body.text();
  const contentType = String(response.headers['content-type'] ?? '');
  if (!contentType.includes('json')) {
    if (response.statusCode >= 500) throw new AdapterError('unavailable', `Planka ${where} → ${response.statusCode}`, { status: response.statusCode });
    throw new AdapterError('bad_response', `Planka answered ${where} with ${contentType || 'no content type'} (${response.statusCode}), not JSON: is the URL right?`, {
      status: response.statusCode,
    });
  }
  try {
    const body = JSON.parse(text) as unknown;
    return { status: response.statusCode, body: body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined };
  } catch {
    throw new AdapterError('bad_response', `Planka sent malformed JSON (${where} → ${response.statusCode})`, { status: response.statusCode });
  }
}
