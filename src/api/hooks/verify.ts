import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Equal, in a time that does not tell where they differ (both hashed first, so lengths may differ). */
export function sameSecret(given: string | Buffer, expected: string): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The signature a Gitea delivery carries: `X-Gitea-Signature` (hex), else `X-Hub-Signature-256` (`sha256=` + hex, Forgejo and GitHub-style senders). */
export function giteaSignatureOf(headers: IncomingHttpHeaders): string | undefined {
  const gitea = headers['x-gitea-signature'];
  if (typeof gitea === 'string' && gitea !== '') return gitea.trim().toLowerCase();
  const hub = headers['x-hub-signature-256'];
  if (typeof hub === 'string' && /^sha256=/i.test(hub)) return hub.slice(7).trim().toLowerCase();
  return undefined;
}

/** Whether `signature` is the hex HMAC-SHA256 of the raw body with the secret. */
export function giteaSignatureValid(body: Buffer, signature: string, secret: string): boolean {
  return sameSecret(signature, createHmac('sha256', secret).update(body).digest('hex'));
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  return /^bearer +(\S+) *$/i.exec(headers.authorization ?? '')?.[1];
}
