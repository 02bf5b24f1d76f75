import type { Config } from '../../config/types.ts';
import type { LedgerData } from '../runs/ledger.ts';
import { dailyBudgetPause, describeBudgetPause } from './budget.ts';
import { hostPressure, type HostLoadReader } from './host-pressure.ts';

/** Why no new agent may start now; running agents are left alone either way. */
export interface StartPause {
  kind: 'daily_budget' | 'host_pressure';
  /** One line for the log, `status` and the dashboard. */
  reason: string;
  /** When it lifts by itself (the daily budget: local midnight). */
  resumesAt?: string;
}

/** The daily budget first (it lasts until midnight), then the host's memory and load. */
export async function startPause(config: Pick<Config, 'dailyBudgetUsd' | 'minFreeMemory' | 'maxLoadPerCpu'>, data: Pick<LedgerData, 'spend'>, readHost: HostLoadReader): Promise<StartPause | undefined> {
  const budget = dailyBudgetPause(data, config.dailyBudgetUsd);
  if (budget) return { kind: 'daily_budget', reason: describeBudgetPause(budget), resumesAt: budget.resumesAt };
  const pressure = await hostPressure(config, readHost);
  return pressure ? { kind: 'host_pressure', reason: `paused: ${pressure}` } : undefined;
}
