import type { IncomingMessage } from 'node:http';
import type { TickRequests } from '../../core/dispatch/tick-requests.ts';
import type { AppLogger } from '../../log.ts';
import { readRawBody, type BodyLimits } from '../body.ts';
import { ApiError, type ApiErrorCode } from '../errors.ts';
import type { Reply } from '../route-table.ts';
import type { PushStatusRecorder } from './push-status.ts';
import { refused, type HookReceiver, type Verdict } from './verdict.ts';

export interface ReceiveOptions {
  requests: TickRequests;
  status: PushStatusRecorder;
  log: AppLogger;
  /** 1 MiB and 10 s by default. */
  limits: BodyLimits;
}

const codes: Record<number, ApiErrorCode> = { 400: 'invalid_json', 401: 'unauthorized', 408: 'request_timeout', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type' };

/**
 * One delivery: checked on its headers, read (bounded in size and time), checked on its raw
 * bytes, recorded (never its body), and, when accepted, answered at once while the tick it asks
 * for starts within the coalescing window. A delivery never dispatches anything by itself.
 */
export async function receiveDelivery(receiver: HookReceiver, request: IncomingMessage, options: ReceiveOptions): Promise<Reply> {
  let verdict = receiver.screen(request.headers);
  if (!verdict) {
    try {
      verdict = receiver.judge(request.headers, await readRawBody(request, options.limits));
    } catch (error) {
      verdict = error instanceof ApiError ? refused(error.status, error.message) : refused(400, 'the body could not be read');
    }
  }
  options.status.delivery(receiver.tracker, verdict);
  report(receiver, verdict, options.log);
  if (verdict.result === 'refused') {
    // Whatever of the body is left unread stays unread: the connection is not reused.
    throw new ApiError(verdict.status, codes[verdict.status] ?? 'invalid_request', `delivery refused: ${verdict.reason}`, verdict.status === 401 && receiver.tracker === 'planka' ? { 'www-authenticate': 'Bearer' } : {}, true);
  }
  if (verdict.result === 'accepted') void options.requests.request('webhook');
  return { status: verdict.status, json: { result: verdict.result, ...(verdict.event ? { event: verdict.event } : {}), ...(verdict.reason ? { reason: verdict.reason } : {}) } };
}

function report(receiver: HookReceiver, verdict: Verdict, log: AppLogger): void {
  const what = `${receiver.tracker} delivery${verdict.event ? ` ${verdict.event}` : ''}`;
  if (verdict.result === 'refused') log.warn(`${what} refused (${verdict.status}): ${verdict.reason}`);
  else if (verdict.result === 'ignored') log.debug(`${what} ignored: ${verdict.reason}`);
  else log.debug(`${what} accepted: tick requested`);
}
