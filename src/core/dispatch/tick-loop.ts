import type { Router } from './router.ts';
import type { AppLogger } from '../../log.ts';

/**
 * Ticks the router every poll interval until `signal` aborts. When a run's outcome is recorded, a
 * tick follows at once (at most one per `minGapMs`, so exits close together share a tick) so a freed slot is
 * filled without waiting a whole interval. Ticks run in the background mode: claiming and
 * spawning of one tick overlap the next.
 */
export async function runTickLoop(router: Router, options: { pollIntervalMs: number; signal: AbortSignal; log: AppLogger; minGapMs?: number }): Promise<void> {
  const minGapMs = Math.min(options.minGapMs ?? 20, options.pollIntervalMs);
  let wake: (() => void) | undefined;
  let woken = false;
  const unsubscribe = router.onEvent((event) => {
    // Once the outcome is in the ledger, not when the process ends: a tick any sooner finds the slot
    // still taken, and spends its turn (minGapMs) on nothing. A refused claim wakes nothing: the
    // next poll comes soon enough, and polling at once would offer the same tasks again.
    if (event.type !== 'exit' && event.type !== 'retry') return;
    woken = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal.addEventListener('abort', onAbort);
  try {
    while (!options.signal.aborted) {
      const started = Date.now();
      woken = false;
      await router.tick({ background: true }).catch((error) => options.log.error(`tick failed: ${(error as Error).message}`));
      if (options.signal.aborted) break;
      await new Promise<void>((resolve) => {
        let timer = setTimeout(done, options.pollIntervalMs);
        let soon = false;
        function done() {
          clearTimeout(timer);
          if (wake === wakeThis) wake = undefined;
          resolve();
        }
        // One early end per wait, whatever the number of wakes: a stray timer of this wait must
        // never end the next one, nor take its `wake` away.
        const wakeThis = () => {
          if (options.signal.aborted) return done();
          if (soon) return;
          soon = true;
          clearTimeout(timer);
          timer = setTimeout(done, Math.max(0, minGapMs - (Date.now() - started)));
        };
        wake = wakeThis;
        if (woken) wakeThis();
      });
    }
  } finally {
    unsubscribe();
    options.signal.removeEventListener('abort', onAbort);
  }
}
