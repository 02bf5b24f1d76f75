import * as v from 'valibot';

/** Turns valibot issues into `file:line: dotted.path: message` lines, with "did you mean" for typos. */

export function formatPath(keys: readonly PropertyKey[]): string {
  return keys
    .map((key) => {
      const text = String(key);
      return /^[A-Za-z0-9_-]+$/.test(text) ? text : JSON.stringify(text);
    })
    .join('.');
}

export function describeIssue(issue: v.BaseIssue<unknown>, schema: v.GenericSchema): { keys: string[]; message: string } {
  const keys = (issue.path ?? []).map((item) => String(item.key));
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const unknown = keys[keys.length - 1];
    const known = knownKeysAt(schema, keys.slice(0, -1));
    const suggestion = closest(unknown, known);
    const hint = suggestion ? ` (did you mean "${suggestion}"?)` : known.length > 0 ? ` (known keys: ${known.join(', ')})` : '';
    return { keys, message: `unknown key${hint}` };
  }
  let message = issue.message.replace(/^Invalid type: /, '');
  if (issue.received === 'undefined' && issue.kind === 'schema') message = `is required (${message.replace(/ but received undefined$/, '')})`;
  return { keys, message };
}

/** The keys an object schema allows at a path (through optional, record and object wrappers). */
function knownKeysAt(schema: v.GenericSchema, keys: string[]): string[] {
  let current: unknown = schema;
  const unwrap = (node: unknown): unknown => {
    let item = node as { type?: string; wrapped?: unknown; pipe?: unknown[] };
    while (item && (item.type === 'optional' || item.type === 'nullable')) item = item.wrapped as typeof item;
    return item;
  };
  for (const key of keys) {
    const node = unwrap(current) as { type?: string; entries?: Record<string, unknown>; value?: unknown };
    if (node?.entries) current = node.entries[key];
    else if (node?.type === 'record') current = node.value;
    else return [];
  }
  const node = unwrap(current) as { entries?: Record<string, unknown> };
  return node?.entries ? Object.keys(node.entries) : [];
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length];
}

/**
 * Best-effort line of a dotted key in TOML text: finds the table header of the parent path and
 * the `key =` line under it. Good enough to point a human at the right place.
 */
export function findKeyLine(text: string, keys: string[], prefix: string[] = []): number | undefined {
  const lines = text.split('\n');
  const full = [...prefix, ...keys];
  const normalise = (header: string) =>
    header
      .split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/)
      .map((part) => part.trim().replace(/^"(.*)"$/, '$1'))
      .join('\u0000');
  for (let split = full.length - 1; split >= 0; split--) {
    const table = full.slice(0, split).join('\u0000');
    const rest = full.slice(split);
    let inTable = split === 0;
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index].trim();
      const header = /^\[([^\[\]]+)\]/.exec(line);
      if (header) {
        inTable = normalise(header[1]) === table;
        if (inTable && rest.length === 0) return index + 1;
        continue;
      }
      if (!inTable) continue;
      const key = /^("[^"]*"|[A-Za-z0-9_-]+)\s*=/.exec(line);
      if (key && key[1].replace(/^"(.*)"$/, '$1') === rest[0]) return index + 1;
    }
  }
  return undefined;
}
