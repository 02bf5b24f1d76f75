import { spawnSync } from 'node:child_process';

/** Options each installed `claude` offers, by command (and PATH), read once per process from `--help`. */
const known = new Map<string, string>();

/**
 * Whether the installed Claude Code accepts `option` (e.g. `--max-budget-usd`, new in 2.x), judged
 * from its `--help`. Asked once per command per process; a command that cannot say counts as not
 * accepting it, so an older version never gets a flag it would refuse.
 */
export function claudeAccepts(command: string, env: Record<string, string>, option: string): boolean {
  const key = `${command}\0${env.PATH ?? ''}`;
  let help = known.get(key);
  if (help === undefined) {
    const answer = spawnSync(command, ['--help'], { env, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    help = answer.status === 0 ? answer.stdout : '';
    known.set(key, help);
  }
  return new RegExp(`(^|\\s)${option.replace(/[-]/g, '\\-')}(\\s|=|$)`, 'm').test(help);
}
