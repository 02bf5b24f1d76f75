import { isAbsolute, resolve } from 'node:path';
import type { BackendConfig } from '../../../config/types.ts';

/**
 * A stable name for the tracker a host dispatches from, without secrets: kind, then the base URL
 * (no user, password, query or fragment) or the board file, then a module's path and options. Two
 * hosts with the same key share task ids, so only one of them may run a task at a time (the
 * database's unique index on active runs is per key).
 */
export function trackerKey(backend: BackendConfig | undefined, baseDir: string): string {
  if (!backend) return 'none';
  const parts = [backend.type, backend.url === undefined ? '' : location(backend.type, backend.url, baseDir)];
  if (backend.path) parts.push(isAbsolute(backend.path) ? backend.path : resolve(baseDir, backend.path));
  if (backend.options) parts.push(stableJson(withoutSecrets(backend.options)));
  return parts.join(' ');
}

function location(type: string, url: string, baseDir: string): string {
  if (type === 'json' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return isAbsolute(url) ? url : resolve(baseDir, url);
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}

const SECRET_KEY = /token|secret|password|key|auth|credential/i;

function withoutSecrets(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([name]) => !SECRET_KEY.test(name)));
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
