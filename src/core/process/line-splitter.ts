import { StringDecoder } from 'node:string_decoder';

/** Longest line handed to a callback, in UTF-16 code units (about 1 MiB of ASCII). */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

export interface LineSplitter {
  /** Feeds raw output; complete lines are delivered at once. */
  push(chunk: Buffer): void;
  /** Delivers a last line that had no newline. Idempotent. */
  end(): void;
}

/**
 * Cuts a byte stream into UTF-8 lines (a trailing "\r" is dropped). Memory stays bounded: a line
 * longer than `maxLength` is delivered cut at `maxLength` as soon as it gets there, and the rest of
 * it, up to the next newline, is dropped.
 */
export function createLineSplitter(onLine: (line: string) => void, maxLength = DEFAULT_MAX_LINE_LENGTH): LineSplitter {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skippingRest = false;
  let ended = false;

  function deliver(line: string): void {
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  function feed(text: string): void {
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline;
      if (!skippingRest) {
        const room = maxLength - pending.length;
        if (end - start > room) {
          deliver(pending + text.slice(start, start + room));
          pending = '';
          skippingRest = true;
        } else {
          pending += text.slice(start, end);
        }
      }
      if (newline === -1) return;
      if (skippingRest) skippingRest = false;
      else deliver(pending);
      pending = '';
      start = newline + 1;
    }
  }

  return {
    push(chunk) {
      if (!ended) feed(decoder.write(chunk));
    },
    end() {
      if (ended) return;
      feed(decoder.end());
      ended = true;
      if (pending !== '' && !skippingRest) deliver(pending);
      pending = '';
    },
  };
}
