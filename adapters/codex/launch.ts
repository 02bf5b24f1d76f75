/** How a `codex exec` launch is adjusted: `--json` so that the run prints JSONL events. */
import type { AgentLaunch, AgentOptions, McpServerLaunch } from '../types.ts';
import { appendOptions, copyLaunch, findOption } from '../command/launch-args.ts';

/** `--experimental-json` is the older name of `--json`. */
const JSON_FLAGS = ['--json', '--experimental-json'];

export function prepareCodexLaunch(launch: AgentLaunch, options: AgentOptions): AgentLaunch {
  const extra = [
    ...(options.structuredOutput && !findOption(launch.args, JSON_FLAGS).present ? ['--json'] : []),
    ...(options.mcp ? mcpSettings(options.mcp) : []),
  ];
  if (extra.length === 0) return copyLaunch(launch);
  const exec = launch.args.indexOf('exec');
  // Right after `exec` they also apply to `exec resume <id>`; without `exec` (a wrapper), at the end.
  if (exec !== -1 && exec < endOfOptions(launch.args)) {
    return copyLaunch(launch, [...launch.args.slice(0, exec + 1), ...extra, ...launch.args.slice(exec + 1)]);
  }
  return copyLaunch(launch, appendOptions(launch.args, extra));
}

/**
 * The server as `-c mcp_servers.<name>.…` settings (values are TOML: a JSON string or list of
 * strings is one). Codex hands an MCP server only a few standard variables unless `env_vars`
 * names more: the run's token goes through the environment, never on the command line.
 */
function mcpSettings(server: McpServerLaunch): string[] {
  const key = `mcp_servers.${server.name}`;
  return ['-c', `${key}.command=${JSON.stringify(server.command)}`, '-c', `${key}.args=${JSON.stringify(server.args)}`, '-c', `${key}.env_vars=${JSON.stringify(server.envNames)}`];
}

/** Options that say where and how a session runs: a resume needs them again (a provider of its own, a sandbox). */
const CARRIED_WITH_VALUE = new Set(['-c', '--config', '-m', '--model', '-p', '--profile', '-s', '--sandbox', '--local-provider', '--enable', '--disable']);
const CARRIED_FLAGS = new Set(['--skip-git-repo-check', '--oss', '--dangerously-bypass-approvals-and-sandbox']);

/** The route's options that `codex exec resume` needs to find and continue the session as it ran. */
export function sessionOptions(args: readonly string[]): string[] {
  const carried: string[] = [];
  const end = endOfOptions(args);
  for (let index = 0; index < end; index += 1) {
    const arg = args[index];
    const name = arg.startsWith('--') && arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (CARRIED_FLAGS.has(arg)) carried.push(arg);
    else if (name !== arg && CARRIED_WITH_VALUE.has(name)) carried.push(arg);
    else if (CARRIED_WITH_VALUE.has(arg) && index + 1 < end) {
      const value = args[++index];
      // An MCP server started for the run (the dispatcher's) has nothing to serve a resume.
      if (!((arg === '-c' || arg === '--config') && value.startsWith('mcp_servers.'))) carried.push(arg, value);
    }
  }
  return carried;
}

function endOfOptions(args: readonly string[]): number {
  const index = args.indexOf('--');
  return index === -1 ? args.length : index;
}
