/**
 * The shell line a human pastes to continue an agent's session. Agents keep sessions per folder
 * and per config home (Claude: `CLAUDE_CONFIG_DIR`, Codex: `CODEX_HOME`); a resume from anywhere
 * else finds nothing. So the line names the route's own command, the variables that locate the
 * session, and the working folder.
 */
import type { AgentLaunch } from '../types.ts';
import { shellQuote } from './launch-args.ts';

export function resumeHint(launch: AgentLaunch, sessionEnv: readonly string[], args: readonly string[]): string {
  const env = sessionEnv.filter((name) => launch.env[name]).map((name) => `${name}=${shellQuote(launch.env[name])}`);
  return `cd ${shellQuote(launch.cwd)} && ${[...env, shellQuote(launch.command), ...args.map(shellQuote)].join(' ')}`;
}
