import { setTimeout as sleep } from 'node:timers/promises';
import type { AppLogger } from '../../../log.ts';
import { ConfigError } from '../../../errors.ts';
import { redact } from '../../../util/redact.ts';
import { LeaseHeldError } from './leases.ts';
import type { PostgresLedger, TakenOver } from './postgres-ledger.ts';
import { stopTakenOverAgents } from './taken-over-agents.ts';

/** What the membership needs of the router: stop everything this host no longer owns, and ask for a tick. */
export interface MemberRouter {
  abandonAll(): Promise<number>;
}

export interface Membership {
  /**
   * Hands the heartbeat (every lease_ttl / 3, from the join on: a start slower than lease_ttl keeps
   * the lease) the router, whose agents a lost lease stops, and the tick a takeover asks for.
   */
  start(router: MemberRouter, requestTick: () => void): void;
  /**
   * Stops the heartbeat. The lease is given up when `release` (nothing of this host is left
   * running: other hosts need not wait for it to run out), else left to run out — a restart
   * within lease_ttl takes it back and adopts the agents.
   */
  leave(options: { release: boolean }): Promise<void>;
}

/** This host's agents, as /proc shows them: those of runs taken over from it are stopped. */
export interface LocalAgents {
  stateDir: string;
  killGraceMs: number;
}

/**
 * Joins the cluster: takes this host's lease (a second live process with the same host_id is
 * refused), then takes over the hosts whose lease ran out, before the first tick's recovery settles
 * what it took, and stops this host's agents left running by a daemon whose runs were taken over
 * meanwhile (it was killed and restarted after lease_ttl). From then on a heartbeat renews the lease
 * and takes over dead hosts; a host that finds its lease taken (a partition, a long pause) stops its
 * agents without recording anything, then takes a fresh lease and goes on.
 */
export async function joinCluster(ledger: PostgresLedger, log: AppLogger, ttlMs: number, local: LocalAgents): Promise<Membership> {
  try {
    await ledger.acquireLease();
  } catch (error) {
    if (error instanceof LeaseHeldError) throw new ConfigError(`${error.message} (set [coordination] host_id, or DISPATCHER_HOST_ID)`, { cause: error });
    throw error;
  }
  log.info(`joined the cluster as host "${ledger.hostId}" (lease ${Math.round(ttlMs / 100) / 10}s)`);
  const initial = await ledger.takeOver().catch((error) => {
    log.warn(`could not look for hosts to take over: ${redact((error as Error).message)}`);
    return undefined;
  });
  if (initial) reportTakeOver(log, initial);
  const stopOrphans = () =>
    stopTakenOverAgents({ db: ledger.db, hostId: ledger.hostId, ...local, log }).catch((error) => {
      log.warn(`could not look for agents of runs taken over from this host: ${redact((error as Error).message)}`);
      return 0;
    });
  await stopOrphans();

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  /** No takeover before then: after the database was away, every host first gets a chance to renew. */
  let takeOverFrom = 0;
  let regaining: Promise<void> | undefined;
  let router: MemberRouter | undefined;
  let requestTick = () => {};
  const every = Math.max(200, Math.floor(ttlMs / 3));

  const regain = async () => {
    const abandoned = router ? await router.abandonAll() : 0;
    log.error(`host "${ledger.hostId}" lost its lease: another host took its runs over (it missed heartbeats for lease_ttl); ${abandoned} agent(s) of those runs stopped, no outcome recorded for them`);
    await stopOrphans(); // groups its supervision did not know (an agent's setsid child, a start under way)
    while (!stopped) {
      try {
        await ledger.acquireLease();
        log.info(`host "${ledger.hostId}" holds a fresh lease again; dispatching goes on`);
        requestTick();
        return;
      } catch (error) {
        log.warn(`cannot take the lease back yet: ${redact((error as Error).message)}`);
        await sleep(every);
      }
    }
  };
  const unsubscribe = ledger.onLeaseLost(() => {
    regaining ??= regain().finally(() => (regaining = undefined));
  });

  const beat = async () => {
    try {
      if (regaining) return;
      if (!(await ledger.renewLease())) return; // the listener above takes it from here
      if (failures > 0) {
        log.info(`the database answers again after ${failures} missed heartbeat(s)`);
        failures = 0;
        takeOverFrom = Date.now() + ttlMs;
      }
      if (Date.now() < takeOverFrom) return;
      const taken = await ledger.takeOver();
      if (reportTakeOver(log, taken)) requestTick();
    } catch (error) {
      if (failures++ === 0) log.warn(`heartbeat failed: ${redact((error as Error).message)}; no new agent starts while the database is away, running agents go on`);
    }
  };
  /** The heartbeat under way: leaving waits for it, so a late renewal cannot undo the release. */
  let beating: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void (beating = beat()).finally(schedule), every);
    timer.unref(); // the daemon's own work keeps the process; a forgotten heartbeat must not
  };

  schedule();
  return {
    start(member, tick) {
      router = member;
      requestTick = tick;
    },
    async leave({ release }) {
      stopped = true;
      clearTimeout(timer);
      unsubscribe();
      await beating;
      await regaining;
      if (release) await ledger.releaseLease().catch((error) => log.warn(`could not give the lease up: ${redact((error as Error).message)}`));
      log.info(`left the cluster (${release ? 'lease given up' : 'lease kept for a restart: agents still run'}); ${ledger.db.roundTrips} database round trips`);
    },
  };
}

function reportTakeOver(log: AppLogger, taken: TakenOver): boolean {
  if (taken.runs.length === 0 && taken.outbox === 0) return taken.hosts.length > 0;
  const runs = taken.runs.filter((run) => run.status === 'starting' || run.status === 'running').length;
  log.warn(`took over host(s) ${taken.hosts.map((host) => `"${host}"`).join(', ')} (lease ran out): ${taken.runs.length} run(s) (${runs} to settle as lost), tracker writes of ${taken.outbox} run(s)`);
  return true;
}
