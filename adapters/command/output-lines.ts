/**
 * Helpers every agent parser shares to read one stdout line safely: bounded, never throwing.
 * The spawner keeps every line in the run log; a parser only picks out the events it knows.
 */

/** Lines longer than this are skipped by parsers (they stay in the run log). */
export const MAX_PARSED_LINE_CHARS = 4 * 1024 * 1024;

/** Summaries, results and error texts are clipped to this many characters. */
export const MAX_REPORT_TEXT_CHARS = 4000;

export type JsonObject = Record<string, unknown>;

/** The line as a JSON object, or undefined when it is empty, too long, not JSON or not an object. */
export function parseJsonObjectLine(line: string): JsonObject | undefined {
  if (typeof line !== 'string' || line.length > MAX_PARSED_LINE_CHARS) return undefined;
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' ? value : undefined;
}

/** A finite, non-negative number; anything else is treated as absent. */
export function countField(object: JsonObject, key: string): number | undefined {
  const value = object[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Cuts text to `max` characters, marking the cut with an ellipsis. */
export function clipText(text: string, max = MAX_REPORT_TEXT_CHARS): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  return `${trimmed.slice(0, max - 1).trimEnd()}…`;
}

/** Session and thread ids end up in a shell line a human pastes: accept only plain ids. */
export function isSafeSessionId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(value);
}

/** The report without its undefined fields, so it prints and compares cleanly. */
export function withoutUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

/** An `onLine` that feeds each JSON object line to `onEvent` and never throws: a bad line stays in the log only. */
export function jsonEventLines(onEvent: (event: Record<string, unknown>) => void): (line: string) => void {
  return (line) => {
    try {
      const event = parseJsonObjectLine(line);
      if (event) onEvent(event);
    } catch {
      // A parser must never take the run down; the line stays in the run log.
    }
  };
}
