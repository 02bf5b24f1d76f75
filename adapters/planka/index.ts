import { ConfigError } from '../../src/errors.ts';
import type { TrackerFactory } from '../types.ts';
import { PlankaAdapter } from './adapter.ts';
import { readCredentials } from './credentials.ts';

export { PlankaAdapter, type PlankaAdapterOptions } from './adapter.ts';

/**
 * `[backend] type = "planka"`, `url = "http://planka.example:1337"`, optional `request_timeout`
 * (seconds, default 30). Credentials come from the
 * environment (or .env): PLANKA_TOKEN, PLANKA_API_KEY (2.x) or PLANKA_USER + PLANKA_PASSWORD.
 * Planka 1.x and 2.x are both supported; the version is detected on first use.
 */
const createPlankaTracker: TrackerFactory = (context) => {
  const url = context.options.url;
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ConfigError('backend.url: the Planka backend needs `url`, the address of the Planka server (e.g. "http://localhost:1337")');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`backend.url: "${url}" is not a URL (e.g. "http://localhost:1337")`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`backend.url: "${url}" must start with http:// or https://`);
  const timeout = context.options.request_timeout;
  return new PlankaAdapter({
    url: url.trim(),
    credentials: readCredentials(context.env),
    log: context.log,
    // Every request has a timeout: backend.request_timeout seconds, 30 when unset or 0.
    timeoutMs: typeof timeout === 'number' && timeout > 0 ? timeout * 1000 : undefined,
  });
};

export default createPlankaTracker;
