import { closeSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { writeFileAtomicSync } from '../../util/atomic-write.ts';
import type { RunRecord } from './ledger.ts';

/**
 * Finished runs, one JSON line each, appended to `<state_dir>/runs.jsonl`. Kept apart from the
 * ledger so that the ledger — rewritten on every change — stays as small as the set of active
 * runs. Readers keep what they parsed and read only what was appended since; the file is cut back
 * to the newest `keep` runs when it has grown to twice that.
 */
export class RunHistory {
  #parsed: RunRecord[] = [];
  #identity = '';
  #offset = 0;
  #lines = 0;

  constructor(
    readonly file: string,
    private readonly keep: number,
  ) {}

  /** The newest finished runs, oldest first (at most `keep`). Do not mutate them. */
  recent(): RunRecord[] {
    let info;
    try {
      info = statSync(this.file);
    } catch {
      this.#reset('');
      return this.#parsed;
    }
    const identity = `${info.dev}:${info.ino}`;
    if (identity !== this.#identity || info.size < this.#offset) this.#reset(identity);
    if (info.size > this.#offset) {
      const fd = openSync(this.file, 'r');
      try {
        this.#readFrom(fd, fstatSync(fd).size);
      } finally {
        closeSync(fd);
      }
    }
    return this.#parsed;
  }

  /** Appends finished runs; call under the ledger's lock. */
  append(runs: RunRecord[]): void {
    if (runs.length === 0) return;
    const text = runs.map((run) => `${JSON.stringify(run)}\n`).join('');
    const bytes = Buffer.from(text);
    const fd = openSync(this.file, 'a', 0o600);
    let info;
    try {
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
      info = fstatSync(fd);
    } finally {
      closeSync(fd);
    }
    // Read up to the end before, and nobody else appends under the lock: what follows is what we wrote.
    if (`${info.dev}:${info.ino}` === this.#identity && info.size === this.#offset + bytes.length) {
      this.#offset = info.size;
      this.#keep(runs.map((run) => ({ ...run })));
      this.#lines += runs.length;
    } else {
      this.recent();
    }
    if (this.#lines > this.keep * 2) {
      writeFileAtomicSync(this.file, this.#parsed.map((run) => `${JSON.stringify(run)}\n`).join(''), 0o600);
      this.#reset('');
      this.recent();
    }
  }

  #reset(identity: string): void {
    this.#parsed = [];
    this.#identity = identity;
    this.#offset = 0;
    this.#lines = 0;
  }

  #readFrom(fd: number, size: number): void {
    const buffer = Buffer.alloc(size - this.#offset);
    const read = readSync(fd, buffer, 0, buffer.length, this.#offset);
    const text = buffer.subarray(0, read).toString('utf8');
    const end = text.lastIndexOf('\n') + 1; // a line still being written waits for the next read
    this.#offset += Buffer.byteLength(text.slice(0, end));
    this.#take(text.slice(0, end));
  }

  /** Parses whole lines into the kept runs. */
  #take(lines: string): void {
    const added: RunRecord[] = [];
    for (const line of lines.split('\n')) {
      if (line === '') continue;
      this.#lines++;
      try {
        added.push(JSON.parse(line) as RunRecord);
      } catch {
        // A damaged line costs that one run's history, nothing more.
      }
    }
    this.#keep(added);
  }

  #keep(added: RunRecord[]): void {
    this.#parsed = [...this.#parsed, ...added].slice(-this.keep);
  }
}
