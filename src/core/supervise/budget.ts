import type { AgentReport } from '../../../adapters/types.ts';
import type { RouteConfig } from '../../config/types.ts';
import type { LedgerData } from '../runs/ledger.ts';
import { formatCost, formatCount } from '../runs/run-comment.ts';

/**
 * Spend limits. Per run (`max_cost_usd`, `max_tokens`): judged from what the agent reports as it
 * goes (Claude's `result` events carry the session's cost so far, its messages their tokens; Codex
 * reports tokens per turn). Per day (`daily_budget_usd`): the cost of runs that ended today, kept
 * in the ledger as one running total per local calendar day.
 */

/** YYYY-MM-DD in local time: the day a daily budget counts. */
export function localDay(at: Date = new Date()): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** Adds a finished run's cost to today's total (inside a ledger update). */
export function recordSpend(data: LedgerData, costUsd: number | undefined, now = new Date()): void {
  if (!costUsd || !Number.isFinite(costUsd) || costUsd <= 0) return;
  const day = localDay(now);
  data.spend = { day, costUsd: (data.spend?.day === day ? data.spend.costUsd : 0) + costUsd };
}

/** What runs that ended today cost. */
export function spentToday(data: Pick<LedgerData, 'spend'>, now = new Date()): number {
  return data.spend?.day === localDay(now) ? data.spend.costUsd : 0;
}

export interface BudgetPause {
  spentUsd: number;
  budgetUsd: number;
  /** Local midnight, ISO 8601. */
  resumesAt: string;
}

/** The daily budget is spent: no new run starts until local midnight. */
export function dailyBudgetPause(data: Pick<LedgerData, 'spend'>, budgetUsd: number | undefined, now = new Date()): BudgetPause | undefined {
  if (budgetUsd === undefined) return undefined;
  const spentUsd = spentToday(data, now);
  if (spentUsd < budgetUsd) return undefined;
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return { spentUsd, budgetUsd, resumesAt: midnight.toISOString() };
}

export function describeBudgetPause(pause: BudgetPause): string {
  return `paused: daily budget spent (${formatUsd(pause.spentUsd)} of ${formatUsd(pause.budgetUsd)}); resumes at ${pause.resumesAt}`;
}

/** "$1.23" for amounts a person reads at a glance. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

/** Why a run is over its limits, from its report so far; undefined while within them. */
export function overRunBudget(report: AgentReport, limits: Pick<RouteConfig, 'maxCostUsd' | 'maxTokens'>): string | undefined {
  if (limits.maxCostUsd !== undefined && report.costUsd !== undefined && report.costUsd >= limits.maxCostUsd) {
    return `spent ${formatCost(report.costUsd)} of its ${formatUsd(limits.maxCostUsd)} limit (max_cost_usd)`;
  }
  if (limits.maxTokens !== undefined && report.tokens) {
    const used = report.tokens.input + report.tokens.output;
    if (used >= limits.maxTokens) return `used ${formatCount(used)} tokens of its ${formatCount(limits.maxTokens)} limit (max_tokens)`;
  }
  return undefined;
}
