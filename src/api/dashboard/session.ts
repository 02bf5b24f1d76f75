import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth.ts';
import { ApiError } from '../errors.ts';

/**
 * Who may see the dashboard: the operator token as a Bearer header (scripts), an open server
 * (auth = "none"), or a browser holding the dashboard cookie. A browser gets the cookie once by
 * opening `/?token=<operator token>`; the answer redirects to `/` so the token leaves the address bar.
 *
 * The cookie is not the operator token: it is an HMAC of it, so it opens the dashboard's routes
 * (and its Stop button, see stop-button.ts) and nothing else, survives daemon restarts (the page reconnects), and stops working when
 * the operator token file is replaced. HttpOnly (no script reads it), SameSite=Strict (no other
 * site sends it), named per port (cookies are shared across ports of one host).
 */
export interface DashboardAccess {
  readonly cookieName: string;
  /** Whether the request may read the dashboard; `caller` is what the server made of its Bearer header. */
  allows(request: IncomingMessage, caller: Caller): boolean;
  /** Throws the API's 401 unless allowed (for /events and /api/v1/state). */
  check(request: IncomingMessage, caller: Caller): void;
  /** The Set-Cookie header for a caller that showed the operator token; undefined when none is needed. */
  cookieFor(caller: Caller): string | undefined;
}

export interface DashboardAccessOptions {
  auth: 'token' | 'none';
  /** The operator token (read from state_dir); required with auth = "token". */
  operatorToken?: string;
  /** The port served, to name the cookie. */
  port: number;
}

const SESSION_LABEL = 'dispatcher dashboard session v1';

export function createDashboardAccess(options: DashboardAccessOptions): DashboardAccess {
  const cookieName = `dispatcher_dashboard_${options.port}`;
  const session = options.operatorToken ? createHmac('sha256', options.operatorToken).update(SESSION_LABEL).digest('base64url') : undefined;
  const expected = session ? Buffer.from(session) : undefined;

  function hasSession(request: IncomingMessage): boolean {
    if (!expected) return false;
    const value = readCookie(request.headers.cookie, cookieName);
    if (!value) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  const access: DashboardAccess = {
    cookieName,
    allows(request, caller) {
      if (options.auth === 'none' || caller.kind === 'open' || caller.kind === 'operator') return true;
      return hasSession(request);
    },
    check(request, caller) {
      if (access.allows(request, caller)) return;
      if (caller.kind === 'run') throw new ApiError(403, 'forbidden', 'the dashboard needs the operator token; a run\'s token cannot read it');
      throw new ApiError(401, 'unauthorized', 'the dashboard needs the operator token: send "Authorization: Bearer <operator token>", or open /?token=<operator token> once in the browser', {
        'www-authenticate': 'Bearer',
      });
    },
    cookieFor(caller) {
      if (caller.kind !== 'operator' || !session) return undefined;
      return `${cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${30 * 24 * 3600}`;
    },
  };
  return access;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
