import { isUtf8 } from 'node:buffer';

/**
 * Where things are in a board file's text, for error messages: line and column of an offset, of
 * the first byte that is not UTF-8, and of the value at a path (`["queues", "Todo", 2]`).
 * Only called when a board is refused, so plain scans are fast enough.
 */

export function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** The text of UTF-8 bytes, or the offset (in the lossy text) of the first invalid sequence. */
export function decodeUtf8(bytes: Buffer): { text: string } | { text: string; invalidAt: number } {
  const text = bytes.toString('utf8');
  if (isUtf8(bytes)) return { text };
  // The lossy decoding puts U+FFFD where the bytes are bad; one the file really holds is skipped.
  let byteOffset = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.codePointAt(index)!;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (code === 0xfffd && !(bytes[byteOffset] === 0xef && bytes[byteOffset + 1] === 0xbf && bytes[byteOffset + 2] === 0xbd)) return { text, invalidAt: index };
    if (code === 0xfffd) byteOffset += 3;
    else byteOffset += width;
    if (code > 0xffff) index++;
  }
  return { text, invalidAt: text.length };
}

/** The offset where the value at `path` starts, or undefined when the path is not in the text. */
export function offsetOfPath(text: string, path: ReadonlyArray<string | number>): number | undefined {
  let position = 0;
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position])) position++;
  };
  const readString = (): string => {
    const start = position;
    position++;
    while (position < text.length && text[position] !== '"') position += text[position] === '\\' ? 2 : 1;
    position++;
    return JSON.parse(text.slice(start, position)) as string;
  };
  const skipValue = (): void => {
    skipSpace();
    const char = text[position];
    if (char === '"') return void readString();
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      position++;
      for (;;) {
        skipSpace();
        if (text[position] === close || position >= text.length) return void position++;
        if (char === '{') {
          readString();
          skipSpace();
          position++; // the colon
        }
        skipValue();
        skipSpace();
        if (text[position] === ',') position++;
      }
    }
    while (position < text.length && !/[\s,\]}]/.test(text[position])) position++;
  };
  try {
    for (const step of path) {
      skipSpace();
      const open = text[position];
      position++;
      for (let index = 0; ; index++) {
        skipSpace();
        if (text[position] === '}' || text[position] === ']' || position >= text.length) return undefined;
        let here: string | number = index;
        if (open === '{') {
          here = readString();
          skipSpace();
          position++;
        }
        skipSpace();
        if (here === step) break;
        skipValue();
        skipSpace();
        if (text[position] === ',') position++;
      }
    }
    skipSpace();
    return position;
  } catch {
    return undefined;
  }
}
