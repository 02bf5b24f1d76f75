import type { PushStatus } from '../hooks/push-status.ts';
import type { TrackerView } from './types.ts';

/** The last tick's trigger and the last delivery per tracker, for the tracker card. */
export function pushView(push: PushStatus | undefined): Pick<TrackerView, 'lastTick' | 'deliveries'> {
  if (!push) return {};
  const deliveries = Object.entries(push.deliveries).map(([tracker, delivery]) => ({ tracker, ...delivery }));
  return { ...(push.lastTick ? { lastTick: push.lastTick } : {}), ...(deliveries.length > 0 ? { deliveries } : {}) };
}
