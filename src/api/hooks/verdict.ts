import type { IncomingHttpHeaders } from 'node:http';

export type HookTracker = 'gitea' | 'planka';

/** What became of one delivery: `accepted` asked for a tick; `ignored` was verified but changes nothing here; `refused` failed a check. */
export interface Verdict {
  result: 'accepted' | 'ignored' | 'refused';
  /** The HTTP status answered. */
  status: number;
  /** The tracker's event name (`issues/opened`, `cardUpdate`), when it was read. */
  event?: string;
  /** Why it was ignored or refused. Never a word of the body. */
  reason?: string;
}

/** One tracker's checks. `screen` runs on the headers alone (before the body is read); `judge` on the raw body. */
export interface HookReceiver {
  tracker: HookTracker;
  screen(headers: IncomingHttpHeaders): Verdict | undefined;
  judge(headers: IncomingHttpHeaders, body: Buffer): Verdict;
}

export const refused = (status: number, reason: string, event?: string): Verdict => ({ result: 'refused', status, reason, ...(event ? { event } : {}) });
export const ignored = (reason: string, event?: string): Verdict => ({ result: 'ignored', status: 202, reason, ...(event ? { event } : {}) });

/** The body as a JSON object, or undefined (a malformed delivery is a 400, never a crash). */
export function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const isJson = (headers: IncomingHttpHeaders) => /^application\/json\s*(;|$)/i.test(headers['content-type'] ?? '');
