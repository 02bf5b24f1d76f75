/** How a `codex exec` launch is adjusted: `--json` so that the run prints JSONL events. */
import type { AgentLaunch, AgentOptions } from '../types.ts';
import { appendOptions, copyLaunch, findOption } from '../command/launch-args.ts';

/** `--experimental-json` is the older name of `--json`. */
const JSON_FLAGS = ['--json', '--experimental-json'];

export function prepareCodexLaunch(launch: AgentLaunch, options: AgentOptions): AgentLaunch {
  if (!options.structuredOutput || findOption(launch.args, JSON_FLAGS).present) return copyLaunch(launch);
  const exec = launch.args.indexOf('exec');
  // Right after `exec` it also applies to `exec resume <id>`; without `exec` (a wrapper), at the end.
  if (exec !== -1 && exec < endOfOptions(launch.args)) {
    return copyLaunch(launch, [...launch.args.slice(0, exec + 1), '--json', ...launch.args.slice(exec + 1)]);
  }
  return copyLaunch(launch, appendOptions(launch.args, ['--json']));
}

function endOfOptions(args: readonly string[]): number {
  const index = args.indexOf('--');
  return index === -1 ? args.length : index;
}
