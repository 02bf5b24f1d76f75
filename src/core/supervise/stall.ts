import { statPath } from '../../util/fd-calls.ts';
import { formatDuration } from '../runs/run-comment.ts';

/** How often a log is looked at, at most (a quarter of the limit when that is shorter). */
const CHECK_EVERY_MS = 1_000;

/**
 * Calls `onStall` once when the run's log file has not changed (size or modification time) for
 * `timeoutMs`. Everything the agent prints lands in that file, Claude's and Codex's JSON events
 * included, so any output counts; a log cut back by the size cap counts as a change too.
 * Returns a function that stops watching.
 */
export function watchForStall(logFile: string, timeoutMs: number, onStall: (reason: string) => void): () => void {
  let seen = '';
  let changedAt = Date.now();
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    statPath(logFile)
      .then(
        (info) => `${info.size}:${info.mtimeMs}`,
        () => seen, // a log that cannot be read now has not grown
      )
      .then((now) => {
        checking = false;
        if (now !== seen) {
          seen = now;
          changedAt = Date.now();
        } else if (Date.now() - changedAt >= timeoutMs) {
          clearInterval(timer);
          onStall(`no output for ${formatDuration(timeoutMs)} (stall_timeout)`);
        }
      });
  }, Math.max(50, Math.min(CHECK_EVERY_MS, timeoutMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}
