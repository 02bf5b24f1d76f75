import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.ts';
import { withFileLock } from './file-lock.ts';

export interface JsonFileStoreOptions<T> {
  /** Parses the file's text; throws a clear error for malformed content (the file is then never written). */
  parse(text: string): T;
  /** Turns the file's bytes into text (default: UTF-8, lossy); throws for content that is not text. */
  decode?(bytes: Buffer): string;
  /** The value of a file that does not exist yet. */
  empty(): T;
  serialize(value: T): string;
  /** File mode for a new file. */
  mode?: number;
  /** Called under the lock once the value is written (what must follow the write, in order). */
  afterWrite?(value: T): void;
}

interface Pending<T> {
  change: (value: T) => unknown;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * A JSON document in a file that several processes update: each read-modify-write holds an
 * inter-process lock and writes atomically (temp file, fsync, rename), so no update is lost and a
 * crash never leaves a torn file. Changes asked for while a write is under way are applied together
 * in the next one, in order: a burst of updates costs one write, not one each.
 */
export class JsonFileStore<T> {
  private pending: Pending<T>[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly options: JsonFileStoreOptions<T>,
  ) {}

  /** What readers share; after our own write, the text we wrote, parsed when first read. */
  private shared?: { stamp: string; value?: Promise<T>; written?: string };
  /** What this process last wrote (never handed to readers, so never shared). */
  private own?: { stamp: string | undefined; value: T };

  /**
   * The current content, shared by every reader until the file changes (its inode, size or change
   * times): callers must not mutate it. A 1,000-task board is parsed once, not once per request.
   */
  read(): Promise<T> {
    const stamp = stampOf(this.path);
    if (stamp === undefined) return this.readFresh(); // missing or unreadable: readFresh says which
    const shared = this.shared;
    if (shared?.stamp === stamp) {
      // Parsing what we wrote spares a trip through the thread pool for the file's content.
      if (!shared.value) shared.value = Promise.resolve(this.options.parse(shared.written!));
      shared.written = undefined;
      return shared.value;
    }
    const value = this.readFresh();
    const entry = { stamp, value };
    this.shared = entry;
    value.catch(() => {
      if (this.shared === entry) this.shared = undefined;
    });
    return value;
  }

  /** A private copy, read now. */
  async readFresh(): Promise<T> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.options.empty();
      throw error;
    }
    return this.options.parse(this.options.decode ? this.options.decode(bytes) : bytes.toString('utf8'));
  }

  /** Applies `change` under the lock and writes the result; resolves with what `change` returned. */
  update<R>(change: (value: T) => R | Promise<R>): Promise<Awaited<R>> {
    return new Promise((resolve, reject) => {
      this.pending.push({ change, resolve: resolve as (result: unknown) => void, reject });
      // The write is scheduled at the first change (the others of the turn join it), after the write under way.
      if (this.pending.length === 1) setImmediate(() => (this.flushing = this.flushing.then(() => this.flush())));
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const results: Array<{ ok: boolean; value: unknown }> = [];
    const file = realFile(this.path);
    try {
      await withFileLock(file, async () => {
        // Unless another process wrote since our last write, what we wrote is what is there.
        const value = this.own !== undefined && this.own.stamp === stampOf(this.path) ? this.own.value : await this.readFresh();
        this.own = undefined;
        let changed = false;
        for (const { change } of batch) {
          try {
            results.push({ ok: true, value: await change(value) });
            changed = true;
          } catch (error) {
            results.push({ ok: false, value: error });
          }
        }
        if (!changed) return;
        const text = this.options.serialize(value);
        await writeFileAtomic(file, text, this.options.mode);
        const stamp = stampOf(this.path);
        this.own = { stamp, value };
        if (stamp !== undefined) this.shared = { stamp, written: text };
        this.options.afterWrite?.(value);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => (results[index].ok ? item.resolve(results[index].value) : item.reject(results[index].value)));
  }
}

/**
 * Where writes go: through symbolic links to the file they name (a board shared by linking to it),
 * so that a link stays a link, and processes that reach the file by different paths share its lock.
 */
export function realFile(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path; // not there yet
  }
}

/** The file's identity and change stamps; an atomic write (a new inode) always changes it. */
function stampOf(path: string): string | undefined {
  try {
    const info = statSync(path, { bigint: true });
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return undefined;
  }
}
