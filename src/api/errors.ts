import { AdapterError, UsageError, type AdapterErrorKind } from '../errors.ts';
import { redact } from '../util/redact.ts';

/**
 * The API's error answers: `{"error": {"code", "message"}}` with a stable lower-case code. Every
 * message is passed through redact(): a tracker's message never carries a credential here.
 */
export type ApiErrorCode =
  | 'invalid_json' // 400: the body is not JSON, not an object, or missing
  | 'invalid_field' // 400: a field is missing or has the wrong type (named in the message)
  | 'invalid_request' // 400: a bad path, query or value (empty comment, ...)
  | 'tracker_rejected' // 400: the tracker refused the value (an unknown label, ...)
  | 'invalid_config' // 400: POST /reload found the config invalid; the one in force stays
  | 'unauthorized' // 401: no token, or an unknown or expired one
  | 'forbidden' // 403: the token may not do this
  | 'not_found' // 404: no such task or queue
  | 'route_not_found' // 404: no such endpoint
  | 'method_not_allowed' // 405: the endpoint exists, the method does not (see Allow)
  | 'request_timeout' // 408: the request (headers or body) did not arrive in time
  | 'conflict' // 409: the change clashes with the tracker's state
  | 'payload_too_large' // 413: the body is over the limit (1 MiB)
  | 'unsupported_media_type' // 415: the body is not declared as JSON
  | 'headers_too_large' // 431
  | 'tracker_rate_limited' // 429: the tracker asked us to slow down
  | 'internal_error' // 500
  | 'tracker_error' // 502: the tracker answered something unusable, or refused our credentials
  | 'tracker_unavailable'; // 503: the tracker could not be reached or failed

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers (Allow, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
    /** The rest of the request was not read: the connection must not be reused. */
    readonly closeConnection = false,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  /** `queue`: the queue a not_found error is about, when a queue cannot be resolved. */
  body: { error: { code: ApiErrorCode; message: string; queue?: string } };
  closeConnection: boolean;
  /** A server-side fault worth a warning in the log. */
  serverFault: boolean;
}

const trackerStatus: Record<AdapterErrorKind, [number, ApiErrorCode]> = {
  not_found: [404, 'not_found'],
  invalid: [400, 'tracker_rejected'],
  conflict: [409, 'conflict'],
  rate_limited: [429, 'tracker_rate_limited'],
  unavailable: [503, 'tracker_unavailable'],
  bad_response: [502, 'tracker_error'],
  // The dispatcher's own tracker credentials failed: not the API caller's fault, so not a 401.
  auth: [502, 'tracker_error'],
};

export function toErrorReply(error: unknown): ErrorReply {
  const reply = (status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}, closeConnection = false, queue?: string): ErrorReply => ({
    status,
    headers,
    body: { error: { code, message: redact(message), ...(queue === undefined ? {} : { queue }) } },
    closeConnection,
    serverFault: status >= 500,
  });
  if (error instanceof ApiError) return reply(error.status, error.code, error.message, error.headers, error.closeConnection);
  if (error instanceof UsageError) return reply(400, 'invalid_request', error.message);
  if (error instanceof AdapterError) {
    const [status, code] = trackerStatus[error.kind] ?? [502, 'tracker_error'];
    const prefix = error.kind === 'auth' ? 'the tracker refused the dispatcher\'s credentials: ' : '';
    return reply(status, code, prefix + error.message, {}, false, error.queue);
  }
  return reply(500, 'internal_error', 'internal error; see the dispatcher log');
}
