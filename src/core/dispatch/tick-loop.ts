import type { Router } from './router.ts';
import type { AppLogger } from '../../log.ts';
import { TickRequests, type TickTrigger } from './tick-requests.ts';

/**
 * Ticks the router every poll interval until `signal` aborts, and sooner when a tick is asked for
 * (`requests`: a webhook delivery, `refresh`). When a run's outcome is recorded, a tick follows at
 * once too, so a freed slot is filled without waiting a whole interval. Ticks start at most one
 * per `minGapMs`, so requests close together share a tick. Ticks run in the background mode:
 * claiming and spawning of one tick overlap the next.
 */
export async function runTickLoop(
  router: Router,
  /** `pollIntervalMs` as a function is read before each wait (a reload may change it). */
  options: { pollIntervalMs: number | (() => number); signal: AbortSignal; log: AppLogger; minGapMs?: number; requests?: TickRequests },
): Promise<void> {
  const interval = typeof options.pollIntervalMs === 'function' ? options.pollIntervalMs : () => options.pollIntervalMs as number;
  const requests = options.requests ?? new TickRequests();
  const unsubscribe = router.onEvent((event) => {
    // Once the outcome is in the ledger, not when the process ends: a tick any sooner finds the slot
    // still taken, and spends its turn (minGapMs) on nothing. A refused claim wakes nothing: the
    // next poll comes soon enough, and polling at once would offer the same tasks again.
    if (event.type === 'exit' || event.type === 'retry') void requests.request('run ended');
  });
  try {
    let trigger: TickTrigger | 'stop' = 'poll';
    // A failure that repeats (the shared ledger's database away) is said once, and its end once.
    let failing: { kind: string; count: number } | undefined;
    const failed = (error: unknown) => {
      const kind = String((error as { code?: string })?.code ?? (error as Error)?.message);
      if (failing?.kind === kind) failing.count++;
      else options.log.error(`tick failed: ${(error as Error).message}${(error as { code?: string })?.code === 'unavailable' ? '; no new agent starts until it answers, running agents go on' : ''}`);
      if (failing?.kind !== kind) failing = { kind, count: 1 };
    };
    while (trigger !== 'stop' && !options.signal.aborted) {
      const started = Date.now();
      requests.started(trigger);
      await router.tick({ background: true }).then(() => {
        if (failing && failing.count > 1) options.log.info(`ticks work again after ${failing.count} failed in a row`);
        failing = undefined;
      }, failed);
      if (options.signal.aborted) break;
      const pollIntervalMs = interval();
      trigger = await requests.wait(pollIntervalMs, options.signal, started + Math.min(options.minGapMs ?? 20, pollIntervalMs));
    }
  } finally {
    unsubscribe();
  }
}
