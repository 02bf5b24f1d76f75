import { Agent } from 'undici';
import { AdapterError, isAdapterError } from '../../src/errors.ts';
import { createHttpClient, type HttpClient, type RequestOptions } from '../http.ts';
import type { Logger } from '../types.ts';
import { CREDENTIAL_HELP, type PlankaCredentials } from './credentials.ts';
import { logIn, logOut, type LoginDeps } from './login.ts';
import { routesFor, type PlankaVersion, type RouteTable } from './routes.ts';

export interface PlankaClientOptions {
  /** Server root, e.g. http://localhost:1337 (no trailing slash needed). */
  url: string;
  credentials: PlankaCredentials;
  log: Logger;
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
}

type Auth = { kind: 'bearer'; token: string; fromLogin: boolean } | { kind: 'apiKey'; key: string };

/**
 * Planka over HTTP: detects the server generation once, signs every request in (token, API key or
 * login), logs in again once when a token expires (401), and explains auth failures without ever
 * showing a credential.
 */
export class PlankaClient {
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly authAgent: Agent;
  private readonly loginDeps: LoginDeps;
  private detected?: Promise<PlankaVersion>;
  private auth?: Auth;
  private authPromise?: Promise<Auth>;

  constructor(private readonly options: PlankaClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? 30_000;
    this.http = createHttpClient({ name: 'Planka', baseUrl: this.baseUrl, timeoutMs, retries: options.retries, retryDelayMs: options.retryDelayMs });
    this.authAgent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 1_000 });
    this.loginDeps = { baseUrl: this.baseUrl, timeoutMs, dispatcher: this.authAgent, http: this.http, log: options.log };
  }

  /** 2 when the server answers GET /api/bootstrap with a version (2.x), 1 when only /api/config answers. */
  version(): Promise<PlankaVersion> {
    this.detected ??= this.detectVersion().catch((error: unknown) => {
      this.detected = undefined;
      throw error;
    });
    return this.detected;
  }

  async routes(): Promise<RouteTable> {
    return routesFor(await this.version());
  }

  /** An authenticated JSON request; answers the body. Errors are AdapterErrors (see adapters/http.ts). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    await this.version();
    const auth = await this.currentAuth();
    try {
      return (await this.http.request<T>(method, path, { ...options, headers: authHeaders(auth) })).body;
    } catch (error) {
      if (!isAdapterError(error, 'auth') || error.status !== 401 || !this.options.credentials.login) throw this.explain(error, auth);
      this.options.log.info(`Planka refused ${auth.kind === 'apiKey' ? 'the API key in PLANKA_API_KEY' : 'the access token (expired?)'}: logging in again`);
      const renewed = await this.renewAuth(auth);
      try {
        return (await this.http.request<T>(method, path, { ...options, headers: authHeaders(renewed) })).body;
      } catch (retryError) {
        throw this.explain(retryError, renewed);
      }
    }
  }

  async close(): Promise<void> {
    const auth = this.auth;
    if (auth?.kind === 'bearer' && auth.fromLogin) await logOut(this.loginDeps, auth.token);
    await Promise.allSettled([this.http.close(), this.authAgent.close()]);
  }

  private async detectVersion(): Promise<PlankaVersion> {
    const answered = (error: unknown) => isAdapterError(error) && error.status !== undefined;
    try {
      const bootstrap = await this.http.request<{ item?: { version?: unknown } }>('GET', '/api/bootstrap');
      const version = bootstrap.body?.item?.version;
      if (typeof version === 'string') {
        this.options.log.debug(`Planka ${version} at ${this.baseUrl}`);
        return Number.parseInt(version, 10) >= 2 ? 2 : 1;
      }
    } catch (error) {
      if (!answered(error)) throw error;
    }
    // 1.x has no /api/bootstrap: its web app answers the unknown route with HTML (v1-26).
    try {
      const config = await this.http.request<{ item?: unknown }>('GET', '/api/config');
      if (config.body?.item && typeof config.body.item === 'object') {
        this.options.log.debug(`Planka 1.x at ${this.baseUrl}`);
        return 1;
      }
    } catch (error) {
      if (!answered(error)) throw error;
    }
    throw new AdapterError('bad_response', `${this.baseUrl} does not answer like Planka 1.x or 2.x (no JSON at /api/bootstrap or /api/config): check backend.url`);
  }

  private currentAuth(): Promise<Auth> {
    if (this.auth) return Promise.resolve(this.auth);
    this.authPromise ??= this.firstAuth()
      .then((auth) => (this.auth = auth))
      .finally(() => (this.authPromise = undefined));
    return this.authPromise;
  }

  private async firstAuth(): Promise<Auth> {
    const { token, apiKey, login } = this.options.credentials;
    if (token) return { kind: 'bearer', token, fromLogin: false };
    const version = await this.version();
    if (apiKey && version === 2) return { kind: 'apiKey', key: apiKey };
    if (login) return this.logIn();
    throw new AdapterError('auth', `PLANKA_API_KEY needs Planka 2.x, and ${this.baseUrl} runs Planka 1.x: set PLANKA_TOKEN or PLANKA_USER and PLANKA_PASSWORD instead`);
  }

  /** One new login for all requests that saw the same refused credential. */
  private renewAuth(refused: Auth): Promise<Auth> {
    if (this.auth && this.auth !== refused) return Promise.resolve(this.auth);
    this.auth = undefined;
    this.authPromise ??= this.logIn()
      .then((auth) => (this.auth = auth))
      .finally(() => (this.authPromise = undefined));
    return this.authPromise;
  }

  private async logIn(): Promise<Auth> {
    const { username, password } = this.options.credentials.login!;
    const token = await logIn(this.loginDeps, username, password);
    this.options.log.debug(`logged in to Planka as "${username}"`);
    return { kind: 'bearer', token, fromLogin: true };
  }

  private explain(error: unknown, auth: Auth): unknown {
    if (!isAdapterError(error)) return error;
    let hint: string | undefined;
    if (error.status === 401) {
      hint =
        auth.kind === 'apiKey'
          ? 'PLANKA_API_KEY was refused: is the key current?'
          : auth.fromLogin
            ? 'the token from the login was refused right away'
            : `PLANKA_TOKEN was refused (expired?): renew it, or ${CREDENTIAL_HELP}`;
    } else if (error.status === 403) {
      hint = "the dispatcher's Planka user must be an editor member of the board";
    }
    return hint ? new AdapterError(error.kind, `${error.message} (${hint})`, { cause: error, status: error.status }) : error;
  }
}

function authHeaders(auth: Auth): Record<string, string> {
  return auth.kind === 'apiKey' ? { 'x-api-key': auth.key } : { authorization: `Bearer ${auth.token}` };
}
