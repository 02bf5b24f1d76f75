import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface BodyLimits {
  /** Largest body accepted, in bytes (default 1 MiB). */
  maxBytes: number;
  /** The whole body must arrive within this long after the handler asks for it. */
  timeoutMs: number;
}

/**
 * Reads a JSON object body. Strict on purpose: the content type must say JSON, so a web page in a
 * browser cannot post to the API with a "simple" cross-site request (form or text/plain).
 */
export async function readJsonObject(request: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  if (!hasBody(request)) throw new ApiError(400, 'invalid_json', 'this request needs a JSON object body');
  assertJsonContentType(request.headers['content-type']);
  const text = (await readRawBody(request, limits)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `malformed JSON body: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_json', 'the JSON body must be an object, e.g. {"comment": "..."}');
  }
  return value as Record<string, unknown>;
}

function hasBody(request: IncomingMessage): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  return length !== undefined && length !== '0';
}

export function assertJsonContentType(header: string | undefined): void {
  const [mediaType = '', ...params] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
  const isJson = mediaType === 'application/json' || /^application\/[\w.-]+\+json$/.test(mediaType);
  const charset = params.find((param) => param.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (!isJson || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new ApiError(415, 'unsupported_media_type', `send the body as JSON with "Content-Type: application/json" (got ${header ? JSON.stringify(header) : 'no content type'}); with curl: -H 'Content-Type: application/json'`);
  }
}

const tooLarge = (maxBytes: number) => new ApiError(413, 'payload_too_large', `the body is larger than ${maxBytes} bytes`, {}, true);

/** The body's bytes as sent (413 over the limit, at once when Content-Length says so; 408 when too slow). */
export function readRawBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: ApiError) => {
      clearTimeout(timer);
      request.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (error) {
        request.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () => finish(new ApiError(400, 'invalid_request', 'the request body could not be read', {}, true));
    const onAborted = onError;
    const timer = setTimeout(() => finish(new ApiError(408, 'request_timeout', `the body did not arrive within ${limits.timeoutMs} ms`, {}, true)), limits.timeoutMs);
    request.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
