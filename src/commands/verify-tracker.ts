import type { TrackerAdapter } from '../../adapters/types.ts';
import { isAdapterError } from '../errors.ts';
import type { AppLogger } from '../log.ts';
import { redact } from '../util/redact.ts';

/**
 * Asks the tracker who we are before a command relies on it: refused credentials stop every
 * command at once, with the tracker's reason (a wrong Gitea token would otherwise read public
 * repositories as anonymous). A tracker that cannot be reached stops a one-shot command
 * (`whileDown: 'fail'`); a daemon starts anyway and polls until it is back (`'warn'`).
 */
export async function verifyTracker(tracker: TrackerAdapter, log: AppLogger, whileDown: 'fail' | 'warn'): Promise<void> {
  try {
    await tracker.whoami();
  } catch (error) {
    if (whileDown === 'fail' || isAdapterError(error, 'auth')) throw error;
    log.warn(`the tracker does not answer yet; polling until it does: ${redact((error as Error).message)}`);
  }
}
