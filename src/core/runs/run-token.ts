import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random token for one run's agent, and the hash the ledger keeps instead of it. */
export function createRunToken(): { token: string; hash: string } {
  const token = `dsp_${randomBytes(24).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
