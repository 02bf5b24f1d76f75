import { findOption } from '../../adapters/command/launch-args.ts';
import type { Config, RouteConfig } from '../config/types.ts';

/**
 * What a claude or codex route lacks to work unattended, as seen with the real CLIs (see
 * docs/agents.md): warnings for `config check`, never errors — a wrapper script may supply it all.
 */
export function agentRouteWarnings(config: Pick<Config, 'env' | 'routes'>, isRoot = process.getuid?.() === 0): string[] {
  return config.routes.flatMap((route) => routeWarnings(route, config.env, isRoot).map((warning) => `routing.${JSON.stringify(route.queue)}: ${warning}`));
}

function routeWarnings(route: RouteConfig, env: Record<string, string | undefined>, isRoot: boolean): string[] {
  if (route.agent === 'claude') return claudeWarnings(route, env, isRoot);
  if (route.agent === 'codex') return codexWarnings(route);
  return [];
}

const BYPASS_MODES = new Set(['bypassPermissions']);

function claudeWarnings(route: RouteConfig, env: Record<string, string | undefined>, isRoot: boolean): string[] {
  const args = route.args;
  const warnings: string[] = [];
  if (!findOption(args, ['-p', '--print']).present) {
    warnings.push('no -p: Claude starts its interactive UI, which has no terminal here; give the prompt with -p "…"');
  }
  const mode = findOption(args, ['--permission-mode']).value;
  const bypass = findOption(args, ['--dangerously-skip-permissions']).present || (mode !== undefined && BYPASS_MODES.has(mode));
  const allowed = findOption(args, ['--allowedTools', '--allowed-tools']).present;
  if (bypass && isRoot && (route.env.IS_SANDBOX ?? env.IS_SANDBOX) !== '1') {
    warnings.push('bypassing permissions is refused as root: Claude exits 1 and prints nothing; run as another user, or use --allowedTools');
  } else if (!bypass && !allowed && !route.mcp) {
    warnings.push('no tools allowed: Claude denies every tool call, `dispatcher task` included, and the run needs attention; add --allowedTools "Bash(dispatcher task:*)" (and what the work needs), or set mcp = true');
  }
  return warnings;
}

function codexWarnings(route: RouteConfig): string[] {
  const args = route.args;
  const warnings: string[] = [];
  if (!args.includes('exec')) warnings.push('no `exec`: codex without it starts its interactive UI; use args = ["exec", …]');
  if (!findOption(args, ['--skip-git-repo-check']).present) {
    warnings.push('no --skip-git-repo-check: outside a git repository codex exec refuses to run (exit 1); fine only when the working folder is a git repository');
  }
  if (!codexReachesLoopback(args)) {
    warnings.push('Codex\'s sandbox blocks loopback: `dispatcher task` cannot reach the dispatcher API (connect EPERM); add -s workspace-write -c sandbox_workspace_write.network_access=true, or -s danger-full-access');
  }
  return warnings;
}

function codexReachesLoopback(args: readonly string[]): boolean {
  if (findOption(args, ['--dangerously-bypass-approvals-and-sandbox']).present) return true;
  const sandbox = findOption(args, ['-s', '--sandbox']).value;
  if (sandbox === 'danger-full-access') return true;
  return sandbox === 'workspace-write' && configValues(args).some((value) => /^sandbox_workspace_write\.network_access\s*=\s*true$/.test(value));
}

/** Every `-c key=value` / `--config key=value` of the args. */
function configValues(args: readonly string[]): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    if ((arg === '-c' || arg === '--config') && index + 1 < args.length) values.push(args[index + 1]);
    else if (arg.startsWith('--config=')) values.push(arg.slice('--config='.length));
  });
  return values;
}
