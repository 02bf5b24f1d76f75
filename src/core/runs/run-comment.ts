/**
 * The one comment the router posts on a task when a run ends, whatever the agent kind: a short
 * headline, the facts worth keeping (attempt, turns, cost, tokens, error), the agent's summary, how
 * to resume, and the tail of the output when it helps. Pure and deterministic: same input, same text.
 */
import type { AgentReport, PermissionDenial } from '../../../adapters/types.ts';
import { redact } from '../../util/redact.ts';

/** `needs_attention`: it ended well by its exit status, but the agent was refused tools it tried to use. */
export type RunOutcome = 'succeeded' | 'needs_attention' | 'failed' | 'timed_out' | 'start_failed' | 'lost' | 'stopped' | 'cancelled' | 'stalled' | 'over_budget';

/** What a route makes of a run that exited well with permission denials (`on_permission_denial`). */
export type PermissionDenialPolicy = 'attention' | 'fail' | 'succeed';

/** Outcomes whose reason is the headline itself (no separate Reason line). */
const REASON_IN_HEADLINE: ReadonlySet<RunOutcome> = new Set(['start_failed', 'cancelled', 'stalled', 'over_budget']);

export interface RunCommentInput {
  outcome: RunOutcome;
  exitCode?: number | null;
  /** The signal that ended the process, e.g. "SIGKILL". */
  signal?: string | null;
  /** Wall time of the run as the dispatcher measured it. */
  durationMs?: number;
  /** The route's time limit; a timeout headline names it. */
  timeoutMs?: number;
  /** 1-based. */
  attempt?: number;
  maxAttempts?: number;
  /** The router will start another attempt. */
  willRetry?: boolean;
  /** Recent output as logged (any length): the comment keeps the last lines. */
  outputTail?: string;
  /** What the agent adapter read from the output (undefined for plain commands). */
  report?: AgentReport;
  /** Why the run could not start, was lost or was stopped, in the dispatcher's words. */
  reason?: string;
  /** The task's workspace (and its branch, for a worktree): where the work is. */
  workspace?: { path: string; branch?: string };
  /** What went wrong around the run without failing it (a failed after_run hook). */
  notes?: string[];
}

export const TAIL_MAX_LINES = 20;
export const TAIL_MAX_CHARS = 2048;
/** Only the end of a huge output is looked at. */
const TAIL_SCAN_CHARS = 256 * 1024;
const SUMMARY_MAX_CHARS = 1500;
const ERROR_MAX_CHARS = 500;

const DENIALS_LISTED = 10;

/**
 * The outcome of a process that exited by itself: an agent that reported an error failed; one that
 * was refused tools needs attention, unless the route says otherwise.
 */
export function outcomeOfExit(exitCode: number | null | undefined, report?: AgentReport, onDenial: PermissionDenialPolicy = 'attention'): 'succeeded' | 'needs_attention' | 'failed' {
  if (exitCode !== 0 || report?.ok === false) return 'failed';
  if (!report?.permissionDenials?.length || onDenial === 'succeed') return 'succeeded';
  return onDenial === 'fail' ? 'failed' : 'needs_attention';
}

export function formatRunComment(input: RunCommentInput): string {
  const report = input.report ?? {};
  const sections = [headline(input), factLines(input, report).map((line) => `- ${line}`).join('\n')];
  if (report.permissionDenials?.length) sections.push(deniedSection(report.permissionDenials, input.outcome));
  // An agent that failed often says its error as its last words too: said once is enough.
  const summary = report.summary?.trim() && !sameText(report.summary, report.error) ? report.summary : undefined;
  if (summary) sections.push(`**Summary**\n${quote(clip(summary, SUMMARY_MAX_CHARS))}`);
  if (report.resumeHint) sections.push(`**Resume**\n${fenced(report.resumeHint, 'sh')}`);
  // With a report, the JSON event lines were read into it already; what else was printed remains.
  const tail = input.outputTail === undefined ? '' : tailOf(input.outputTail, { dropJsonLines: input.report !== undefined });
  // On success the agent's summary says more than raw (often JSON) output; without one, show the tail.
  if (tail && !sameText(tail, report.error) && (input.outcome !== 'succeeded' || !report.summary?.trim())) {
    sections.push(`**Last output**\n${fenced(tail, 'text')}`);
  }
  return redact(sections.filter((section) => section !== '').join('\n\n'));
}

function headline(input: RunCommentInput): string {
  const took = input.durationMs === undefined ? '' : ` after ${formatDuration(input.durationMs)}`;
  switch (input.outcome) {
    case 'succeeded': {
      const took = input.durationMs === undefined ? '' : ` in ${formatDuration(input.durationMs)}`;
      return `✅ Agent finished (${exitStatus(input)})${took}`;
    }
    case 'needs_attention': {
      const took = input.durationMs === undefined ? '' : ` in ${formatDuration(input.durationMs)}`;
      return `⚠️ Agent finished (${exitStatus(input)})${took}, but needs attention: ${deniedCount(input.report)} denied`;
    }
    case 'failed':
      if (input.exitCode === 0 && input.report?.ok === false) return `❌ Agent reported an error (exit 0)${took}`;
      if (input.exitCode === 0 && input.report?.permissionDenials?.length) return `❌ Agent failed: ${deniedCount(input.report)} denied (exit 0)${took}`;
      return `❌ Agent failed (${exitStatus(input)})${took}`;
    case 'timed_out': {
      const limit = input.timeoutMs ?? input.durationMs;
      const killed = input.signal ? ` (stopped with ${input.signal})` : '';
      return `⏱️ Agent timed out${limit === undefined ? '' : ` after ${formatDuration(limit)}`}${killed}`;
    }
    case 'start_failed':
      return `🚫 Agent could not start${input.reason ? `: ${oneLine(input.reason, 200)}` : ''}`;
    case 'lost':
      return `❓ Agent run lost: the dispatcher has no exit status for it${took}`;
    case 'stopped':
      return `⏹️ Agent stopped${took}${input.signal ? ` (${input.signal})` : ''}`;
    case 'cancelled':
      return `🛑 Agent cancelled${took}: ${oneLine(input.reason ?? 'its task left the in-progress queue', 300)}`;
    case 'stalled':
      return `💤 Agent stalled: ${oneLine(input.reason ?? 'no output', 300)}; stopped${took}`;
    case 'over_budget':
      return `💸 Agent over budget: ${oneLine(input.reason ?? 'spent more than its limit', 300)}; stopped${took}`;
  }
}

function factLines(input: RunCommentInput, report: AgentReport): string[] {
  const lines: string[] = [];
  const attempt = attemptLine(input);
  if (attempt) lines.push(attempt);
  if (input.reason && !REASON_IN_HEADLINE.has(input.outcome)) lines.push(`Reason: ${oneLine(input.reason, ERROR_MAX_CHARS)}`);
  // Zero tokens and no cost is a run that never reached the model: nothing worth counting.
  const tokens = report.tokens && report.tokens.input + report.tokens.output > 0 ? report.tokens : undefined;
  const cost = report.costUsd === 0 && !tokens ? undefined : report.costUsd;
  const usage = [
    report.turns === undefined ? undefined : `Turns: ${report.turns}`,
    cost === undefined ? undefined : `Cost: ${formatCost(cost)}`,
    report.durationMs === undefined ? undefined : `Agent time: ${formatDuration(report.durationMs)}`,
  ].filter((part) => part !== undefined);
  if (usage.length > 0) lines.push(usage.join(' · '));
  if (tokens) {
    const { input: tokensIn, cachedInput, output } = tokens;
    const cached = cachedInput > 0 ? ` (${formatCount(cachedInput)} cached)` : '';
    lines.push(`Tokens: ${formatCount(tokensIn)} in${cached} · ${formatCount(output)} out`);
  }
  if (report.apiRetries) {
    const last = report.lastApiRetryError ? ` (last: ${oneLine(report.lastApiRetryError, 200)})` : '';
    lines.push(`API retries: ${report.apiRetries}${last}`);
  }
  if (report.error) lines.push(`Error: ${oneLine(report.error, ERROR_MAX_CHARS)}`);
  if (input.workspace) lines.push(`Workspace: \`${input.workspace.path}\`${input.workspace.branch ? ` (branch \`${input.workspace.branch}\`)` : ''}`);
  for (const note of input.notes ?? []) lines.push(`⚠️ ${oneLine(note, ERROR_MAX_CHARS)}`);
  return lines;
}

function deniedCount(report: AgentReport | undefined): string {
  const count = report?.permissionDenials?.length ?? 0;
  return count === 1 ? '1 tool call was' : `${count} tool calls were`;
}

/** The refused calls, and what to do about them when the run was held back for it. */
function deniedSection(denials: PermissionDenial[], outcome: RunOutcome): string {
  const lines = denials.slice(0, DENIALS_LISTED).map((denial) => `- ${denial.tool}${denial.input ? `: ${inlineCode(oneLine(denial.input, 300))}` : ''}`);
  if (denials.length > DENIALS_LISTED) lines.push(`- … and ${denials.length - DENIALS_LISTED} more`);
  const advice =
    outcome === 'needs_attention'
      ? '\n\nThe task was left where it is, not moved to the success queue. Allow the tools the agent needs (Claude: `--allowedTools`), or set `on_permission_denial` on the route (see docs/agents.md).'
      : '';
  return `**Denied tool calls**\n${lines.join('\n')}${advice}`;
}

function attemptLine(input: RunCommentInput): string | undefined {
  const { attempt, maxAttempts } = input;
  if (attempt === undefined || maxAttempts === undefined || maxAttempts <= 1) {
    return input.willRetry ? 'It will be retried.' : undefined;
  }
  if (input.willRetry) return `Attempt ${attempt} of ${maxAttempts}; it will be retried.`;
  if (input.outcome !== 'succeeded' && attempt >= maxAttempts) return `Attempt ${attempt} of ${maxAttempts}; no attempts left.`;
  return `Attempt ${attempt} of ${maxAttempts}.`;
}

function exitStatus(input: RunCommentInput): string {
  if (typeof input.exitCode === 'number') return `exit ${input.exitCode}`;
  if (input.signal) return `killed by ${input.signal}`;
  return 'no exit status';
}

/** "850ms", "42s", "2m 3s", "1h 2m 3s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h ${minutes}m ${seconds}s`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

/** "$0.1234". */
export function formatCost(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

/** "1,234,567", independent of the locale. */
export function formatCount(count: number): string {
  return Math.round(count).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The last lines of output, without colour codes, at most TAIL_MAX_LINES lines and TAIL_MAX_CHARS. */
export function tailOf(output: string, options: { dropJsonLines?: boolean } = {}): string {
  let lines = output
    .slice(-TAIL_SCAN_CHARS)
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd());
  if (options.dropJsonLines) lines = lines.filter((line) => !/^\s*\{.*\}$/.test(line));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let tail = lines.slice(-TAIL_MAX_LINES).join('\n');
  if (tail.length > TAIL_MAX_CHARS) {
    tail = tail.slice(-(TAIL_MAX_CHARS - 1));
    const firstBreak = tail.indexOf('\n');
    // Drop the cut first line when whole lines remain; a single huge line is kept cut.
    if (firstBreak !== -1) tail = tail.slice(firstBreak + 1);
    tail = `…${tail}`;
  }
  return tail.trim() === '' ? '' : tail;
}

/** A fenced block whose fence is longer than any backtick run inside, so nothing can close it early. */
function fenced(text: string, language: string): string {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text}\n${fence}`;
}

/** Inline code whose backtick run is longer than any inside, padded so a backtick at either end stays inside. */
function inlineCode(text: string): string {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (match) => match[0].length));
  const ticks = '`'.repeat(longest + 1);
  return longest > 0 ? `${ticks} ${text} ${ticks}` : `${ticks}${text}${ticks}`;
}

function sameText(a: string, b: string | undefined): boolean {
  return b !== undefined && a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.trim() === '' ? '>' : `> ${line}`))
    .join('\n');
}

function clip(text: string, max: number): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `${trimmed.slice(0, max - 1).trimEnd()}…`;
}

function oneLine(text: string, max: number): string {
  return clip(text.replace(/\s+/g, ' '), max);
}
