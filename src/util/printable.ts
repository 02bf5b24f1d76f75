/**
 * Text from trackers (titles, ids, comments) made safe to show: terminal control sequences are
 * shown escaped, never played, and text too long for a line is cut, saying by how much.
 */

/** C0 controls but tab and newline, DEL, and the C1 controls (ESC [ … and its 8-bit forms). */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Line breaks too, for text that must stay on one line. */
const CONTROLS_AND_BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escape = (char: string) => {
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  const code = char.charCodeAt(0);
  return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
};

/** Control characters escaped (`\x1b`); newlines and tabs kept; a Windows line end read as a newline. */
export function escapeControls(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(CONTROLS, escape);
}

/** One line: every control character and line break escaped (`\n`). */
export function oneLine(text: string): string {
  return text.replace(CONTROLS_AND_BREAKS, escape);
}

/** At most `max` characters, then `… (+N chars)`. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (+${(text.length - max).toLocaleString('en-US')} chars)`;
}

/** Longest run of non-space characters a log line shows whole (an id, a path, a URL). */
const MAX_WORD = 300;
/** Longest log or error line. */
const MAX_LINE = 4_000;

/**
 * A log or error line: controls escaped, each very long word (a 10,000-character id) and the
 * line itself cut. Newlines in it (a stack, detail lines) are kept.
 */
export function forLog(text: string): string {
  const words = text.length > MAX_WORD ? text.replace(new RegExp(`\\S{${MAX_WORD + 1},}`, 'g'), (word) => cut(word, MAX_WORD)) : text;
  return cut(escapeControls(words), MAX_LINE);
}
