import { setTimeout as sleep } from 'node:timers/promises';
import { type ClusterRun, type Ledger, type LedgerData, OCCUPYING, type RunRecord, type StopRequest } from '../runs/ledger.ts';
import type { StopElsewhere } from '../runs/postgres/stops-elsewhere.ts';

/**
 * With coordination, a stop of a run another host owns: its agent is out of reach from here, so
 * the decision is written into the run's row (under the owner's row lock) and the owner's daemon
 * acts on it at its next heartbeat (every lease_ttl / 3): TERM → grace → KILL through its own
 * spawner, then it settles the run as for a local stop. A host whose lease ran out leaves the run to
 * the host that takes it over, which settles it with the recorded decision (`stopped`, not `lost`).
 */

/** What a ledger shared by several hosts offers such a stop (PostgresLedger). */
interface SharedLedger extends Ledger {
  readonly hostId: string;
  recordStopElsewhere(runId: string, request: StopRequest): Promise<StopElsewhere | undefined>;
  readRunAnywhere(runId: string): Promise<RunRecord | undefined>;
}

function isShared(ledger: Ledger): ledger is SharedLedger {
  return typeof (ledger as Partial<SharedLedger>).recordStopElsewhere === 'function';
}

/** Another host's active run that `id` names: a run id, or a task id of this host's tracker. */
export function findRunElsewhere(data: LedgerData, id: string): ClusterRun | undefined {
  const cluster = data.cluster;
  if (!cluster) return undefined;
  const occupying = cluster.runs.filter((run) => OCCUPYING.has(run.status));
  return occupying.find((run) => run.id === id) ?? occupying.find((run) => run.taskId === id && run.tracker === cluster.tracker);
}

export interface ElsewhereOptions {
  /** How long to wait at most for the owner (or the host taking it over) to settle the run (see settleWithin). */
  settleWithinMs: number;
  /** Told once the decision is recorded, before the wait (the CLI says where the run is and how long it may take). */
  onRecorded?(stop: StopElsewhere): void;
}

export interface StoppedElsewhere extends StopElsewhere {
  /** The run has settled (its outcome is recorded); false: the decision is recorded and the owner has not acted yet. */
  settled: boolean;
}

/**
 * Records the stop on the run's host and waits until the run settles, or `settleWithinMs`.
 * Undefined when this ledger is not shared, or the run is no longer active anywhere.
 */
export async function stopElsewhere(ledger: Ledger, runId: string, request: Omit<StopRequest, 'at'>, options: ElsewhereOptions): Promise<StoppedElsewhere | undefined> {
  if (!isShared(ledger)) return undefined;
  const stop = await ledger.recordStopElsewhere(runId, { ...request, fromHost: ledger.hostId, at: new Date().toISOString() });
  if (!stop) return undefined;
  options.onRecorded?.(stop);
  const until = Date.now() + options.settleWithinMs;
  for (;;) {
    const run = await ledger.readRunAnywhere(runId);
    if (!run || !OCCUPYING.has(run.status)) return { ...stop, run: run ?? stop.run, settled: true };
    if (Date.now() >= until) return { ...stop, run, settled: false };
    await sleep(250);
  }
}

/** Time the run's owner is given to record the outcome once its agent is gone. */
const RECORD_MS = 10_000;

/** How often a host of the cluster renews its lease, and so looks for stops recorded for its runs. */
export const heartbeatEvery = (leaseTtlMs: number): number => Math.max(200, Math.floor(leaseTtlMs / 3));

/**
 * How long a stop of another host's run is waited for at most. A live owner acts at its next
 * heartbeat, then the grace and the time to record the outcome; but an owner that just died still
 * looks alive until its lease runs out, and then the host taking it over settles the run at its
 * next tick: so lease_ttl, a heartbeat, a poll, the grace and the recording. A run that settles
 * sooner is answered at once.
 */
export function settleWithin(config: { coordination: { leaseTtlMs: number }; killGraceMs: number; pollIntervalMs: number }): number {
  const { leaseTtlMs } = config.coordination;
  return leaseTtlMs + heartbeatEvery(leaseTtlMs) + config.pollIntervalMs + config.killGraceMs + RECORD_MS;
}
