import type { PriorityName } from '../../config/types.ts';
import { DEFAULT_PRIORITY } from '../../config/load.ts';
import { priorityOf, type PriorityMapping } from '../../core/dispatch/priority.ts';
import { redact } from '../../util/redact.ts';
import type { TaskRef } from './types.ts';

/** Only links a browser can open safely: http(s), without credentials; anything else becomes "". */
export function safeLink(url: string | undefined): string {
  if (!url) return '';
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return '';
    parsed.username = '';
    parsed.password = '';
    return redact(parsed.href);
  } catch {
    return '';
  }
}

/** Where a tracker is, for humans and without a credential: a host, or a board file's name. */
export function trackerWhere(type: string | undefined, url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.host;
  } catch {
    // not a URL: a file path (json backend)
  }
  return type === 'json' || !url.includes('://') ? url.split(/[\\/]/).pop() || undefined : undefined;
}

export function taskRef(taskId: string, title: string, url: string | undefined, priority: PriorityName): TaskRef {
  return { taskId, title, url: safeLink(url), priority };
}

/** A run's priority, from its title prefix (`CRITICAL: …`, `[high] …`) with the configured names. */
export function priorityFromTitle(title: string, mapping: PriorityMapping = DEFAULT_PRIORITY): PriorityName {
  return priorityOf({ name: title, labels: [] }, mapping);
}
