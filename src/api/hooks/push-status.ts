import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TickTrigger } from '../../core/dispatch/tick-requests.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { HookTracker, Verdict } from './verdict.ts';

/** The last delivery of a tracker: when, which event, and what became of it. Never a word of its body. */
export interface DeliveryRecord {
  at: string;
  event?: string;
  result: Verdict['result'];
  status: number;
  reason?: string;
}

export interface PushStatus {
  deliveries: Partial<Record<HookTracker, DeliveryRecord>>;
  /** How the latest tick was started, and when. */
  lastTick?: { trigger: TickTrigger; at: string };
}

/** In state_dir, for `dispatcher status` in another process. */
export const PUSH_STATUS_FILE = 'push.json';

/** How often, at most, the file is written: a busy daemon ticks often. */
const WRITE_EVERY_MS = 1_000;

/** Keeps the push status in memory and, given a state_dir, in its file (written at most once a second). */
export class PushStatusRecorder {
  private readonly status: PushStatus = { deliveries: {} };
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: { stateDir?: string; onWriteError?: (error: Error) => void } = {}) {}

  delivery(tracker: HookTracker, verdict: Verdict, at = new Date()): void {
    const { result, status, event, reason } = verdict;
    this.status.deliveries[tracker] = { at: at.toISOString(), result, status, ...(event ? { event } : {}), ...(reason ? { reason } : {}) };
    this.changed();
  }

  tick(trigger: TickTrigger, at: number): void {
    this.status.lastTick = { trigger, at: new Date(at).toISOString() };
    this.changed();
  }

  /** Called after each change (the dashboards refresh). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): PushStatus {
    return structuredClone(this.status);
  }

  /** Writes what is pending now (on shutdown). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.write();
    }
    await this.writing;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
    if (!this.options.stateDir || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, WRITE_EVERY_MS);
    this.timer.unref();
  }

  private write(): void {
    const file = join(this.options.stateDir!, PUSH_STATUS_FILE);
    const text = `${JSON.stringify(this.status)}\n`;
    this.writing = this.writing.then(() => writeFileAtomic(file, text)).catch((error) => this.options.onWriteError?.(error as Error));
  }
}

/** The push status a daemon wrote in state_dir; undefined when none did (or the file is unreadable). */
export async function readPushStatus(stateDir: string): Promise<PushStatus | undefined> {
  try {
    const value = JSON.parse(await readFile(join(stateDir, PUSH_STATUS_FILE), 'utf8')) as PushStatus;
    return typeof value === 'object' && value !== null && typeof value.deliveries === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}
