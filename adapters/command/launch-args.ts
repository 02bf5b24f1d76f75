/** Reading and extending an agent's argv without a shell and without mutating the caller's copy. */
import type { AgentLaunch } from '../types.ts';

export interface OptionFound {
  present: boolean;
  /** `--name value` or `--name=value`; a following argument that starts with "-" is not a value. */
  value?: string;
}

/** Looks for an option among the arguments before a `--` terminator. */
export function findOption(args: readonly string[], names: readonly string[]): OptionFound {
  const end = terminatorIndex(args);
  for (let index = 0; index < end; index += 1) {
    const arg = args[index];
    if (names.includes(arg)) {
      const next = index + 1 < end ? args[index + 1] : undefined;
      return next !== undefined && !next.startsWith('-') ? { present: true, value: next } : { present: true };
    }
    const equals = arg.indexOf('=');
    if (arg.startsWith('--') && equals > 0 && names.includes(arg.slice(0, equals))) {
      return { present: true, value: arg.slice(equals + 1) };
    }
  }
  return { present: false };
}

/** A new args array with `extra` added at the end of the options (before a `--` terminator). */
export function appendOptions(args: readonly string[], extra: readonly string[]): string[] {
  const end = terminatorIndex(args);
  return [...args.slice(0, end), ...extra, ...args.slice(end)];
}

/** A copy of the launch that can be changed freely. */
export function copyLaunch(launch: AgentLaunch, args: string[] = [...launch.args]): AgentLaunch {
  return { command: launch.command, args, env: { ...launch.env }, cwd: launch.cwd };
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function terminatorIndex(args: readonly string[]): number {
  const index = args.indexOf('--');
  return index === -1 ? args.length : index;
}
