import type { McpServerLaunch } from '../../../adapters/types.ts';
import type { DispatcherBin } from './dispatcher-bin.ts';

/** The name agents know the dispatcher's MCP server by: Claude's tools are `mcp__dispatcher__task_comment`... */
export const MCP_SERVER_NAME = 'dispatcher';

/** What `dispatcher mcp` reads from the agent's environment. */
export const MCP_SERVER_ENV = ['DISPATCHER_API_URL', 'DISPATCHER_TOKEN', 'DISPATCHER_TASK_ID', 'DISPATCHER_RUN_ID'];

/** `"$DISPATCHER_BIN" mcp`: the same launcher the agent's shell commands use. */
export function mcpServerLaunch(bin: DispatcherBin): McpServerLaunch {
  return { name: MCP_SERVER_NAME, command: bin.path, args: ['mcp'], envNames: MCP_SERVER_ENV };
}
