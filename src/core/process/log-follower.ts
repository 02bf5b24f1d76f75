import { closeSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { appendToTail, decodeTail } from './output-log.ts';

const CHUNK_BYTES = 64 * 1024;
/** One read buffer for every follower: reads are synchronous, and chunks handed on are copies. */
const readBuffer = Buffer.allocUnsafe(CHUNK_BYTES);

/**
 * Follows an agent's log file as the agent appends to it. The agent writes its output straight
 * into the file (not into a pipe of ours), so it can outlive this process — a restart or a crash of
 * the dispatcher never kills it with a broken pipe. We read what it appends, for the line
 * callbacks and the tail. The cap: when the output passes `maxBytes`, the file is cut back to where
 * the output began and a marker is written; the agent goes on appending after it, and the newest
 * output — what the tail and a human want — is what the file keeps.
 */
export class LogFollower {
  #fd: number;
  #offset: number;
  #tail: Buffer = Buffer.alloc(0);
  #truncated = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Takes ownership of `fd`, opened to read and append (see openLogForAppend). */
  constructor(
    fd: number,
    private readonly start: number,
    private readonly maxBytes: number,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {
    this.#fd = fd;
    this.#offset = start;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /** Reads what arrives every `intervalMs` until {@link finish} or {@link detach}. */
  follow(intervalMs: number): void {
    this.#timer = setInterval(() => this.poll(), intervalMs);
  }

  /** Reads everything appended so far. */
  poll(): void {
    if (this.#closed) return;
    for (;;) {
      const read = readSync(this.#fd, readBuffer, 0, CHUNK_BYTES, this.#offset);
      if (read <= 0) break;
      const chunk = Buffer.from(readBuffer.subarray(0, read));
      this.#offset += read;
      this.#tail = appendToTail(this.#tail, chunk);
      try {
        this.onChunk(chunk);
      } catch {
        // A consumer's bug must not stop the following.
      }
    }
    if (this.#offset - this.start > this.maxBytes) this.#cut();
  }

  #cut(): void {
    ftruncateSync(this.#fd, this.start);
    const marker = Buffer.from(`[dispatcher: output passed the log limit of ${this.maxBytes} bytes; earlier output was dropped]\n`);
    writeSync(this.#fd, marker);
    this.#truncated = true;
    // The agent may have appended between the cut and the marker: then what follows the cut is
    // read as it is (its output, our marker, its output), so that none of it is skipped.
    const atCut = Buffer.alloc(marker.length);
    const markerFirst = readSync(this.#fd, atCut, 0, marker.length, this.start) === marker.length && atCut.equals(marker);
    this.#offset = markerFirst ? this.start + marker.length : this.start;
  }

  /** Reads the rest and closes the file; the tail is final. */
  finish(): string {
    this.poll();
    this.#stop();
    return decodeTail(this.#tail);
  }

  /** Stops following and leaves the file to the agent (it outlives us). */
  detach(): void {
    this.#stop();
  }

  tail(): string {
    return decodeTail(this.#tail);
  }

  #stop(): void {
    clearInterval(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}
