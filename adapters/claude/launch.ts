/**
 * How a Claude Code launch is adjusted: a session id chosen up front (so a run killed before it
 * printed anything can still be resumed) and stream-json output the parser can read.
 */
import { randomUUID } from 'node:crypto';
import type { AgentLaunch, AgentOptions } from '../types.ts';
import { appendOptions, copyLaunch, findOption } from '../command/launch-args.ts';
import { claudeAccepts } from './help.ts';

const SESSION_ID = ['--session-id'];
/** Both continue an existing session; Claude refuses `--session-id` with them unless it forks. */
const RESUME = ['--resume', '-r'];
const CONTINUE = ['--continue', '-c'];
const FORK = ['--fork-session'];
const OUTPUT_FORMAT = ['--output-format'];
const VERBOSE = ['--verbose'];
const MAX_BUDGET = '--max-budget-usd';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function prepareClaudeLaunch(launch: AgentLaunch, options: AgentOptions): AgentLaunch {
  const args = launch.args;
  const extra: string[] = [];
  if (!findOption(args, SESSION_ID).present && !continuesSession(args)) {
    extra.push('--session-id', randomUUID());
  }
  const format = findOption(args, OUTPUT_FORMAT);
  if (!format.present && options.structuredOutput) {
    extra.push('--output-format', 'stream-json', '--verbose');
  } else if (format.value === 'stream-json' && !findOption(args, VERBOSE).present) {
    // Claude refuses stream-json in print mode without --verbose; the route asked for stream-json.
    extra.push('--verbose');
  }
  // The route's spend limit, enforced by Claude itself too where the installed version can.
  if (options.maxCostUsd !== undefined && !findOption(args, [MAX_BUDGET]).present && claudeAccepts(launch.command, launch.env, MAX_BUDGET)) {
    extra.push(MAX_BUDGET, String(options.maxCostUsd));
  }
  if (options.mcp) {
    // A stdio server gets Claude's own environment: the run's token never goes on a command line.
    const server = { type: 'stdio', command: options.mcp.command, args: options.mcp.args };
    extra.push('--mcp-config', JSON.stringify({ mcpServers: { [options.mcp.name]: server } }), '--allowedTools', `mcp__${options.mcp.name}`);
  }
  return copyLaunch(launch, appendOptions(args, extra));
}

/**
 * The session id a launch will run under, known before Claude prints anything: the one given with
 * `--session-id`, or the one `--resume <uuid>` continues (a fork gets a new id we cannot know).
 */
export function sessionIdFromArgs(args: readonly string[]): string | undefined {
  const given = findOption(args, SESSION_ID);
  if (given.present) return given.value;
  const resumed = findOption(args, RESUME);
  if (resumed.value && UUID.test(resumed.value) && !findOption(args, FORK).present) return resumed.value;
  return undefined;
}

function continuesSession(args: readonly string[]): boolean {
  return findOption(args, RESUME).present || findOption(args, CONTINUE).present;
}
