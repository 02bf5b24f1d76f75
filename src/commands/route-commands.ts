import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { x } from 'tinyexec';
import type { Config } from '../config/types.ts';

export interface RouteCommandCheck {
  route: string;
  command: string;
  /** Where the command resolves to; undefined when it is not found. */
  path?: string;
  /** `--version` of a known agent CLI (claude, codex). */
  version?: string;
}

/**
 * Where each route's command resolves, and the version of the agent CLIs we know (claude, codex).
 * Plain commands are never run: `--version` could mean anything to someone's script.
 */
export async function checkRouteCommands(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<RouteCommandCheck[]> {
  return Promise.all(
    config.routes.map(async (route) => {
      const path = resolveCommand(route.command, route.cwd ? resolve(config.baseDir, route.cwd) : process.cwd(), env.PATH ?? '');
      const check: RouteCommandCheck = { route: route.queue, command: route.command, path };
      if (path && (route.agent === 'claude' || route.agent === 'codex')) {
        const result = await x(path, ['--version'], { timeout: 5_000, throwOnError: false, nodeOptions: { env: { PATH: env.PATH ?? '' } } });
        const line = result.stdout.trim().split('\n')[0];
        if (result.exitCode === 0 && line) check.version = line.slice(0, 120);
      }
      return check;
    }),
  );
}

function resolveCommand(command: string, cwd: string, searchPath: string): string | undefined {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd, command)] : searchPath.split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
