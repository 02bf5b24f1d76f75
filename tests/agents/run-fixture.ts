/** Runs a fixture agent as a real subprocess and feeds its stdout, line by line, to a parser. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AgentLaunch, AgentOutputParser } from '../../adapters/types.ts';

export const fixturesDir = join(import.meta.dirname, '../../fixtures/agents');

export function fixtureLaunch(name: string, args: string[] = [], cwd = fixturesDir): AgentLaunch {
  return { command: process.execPath, args: [join(fixturesDir, name), ...args], env: {}, cwd };
}

export interface FixtureRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  output: string;
}

export interface RunOptions {
  /** Called after each line; return true to kill the process (SIGTERM), like a timeout would. */
  killWhen?: (parser: AgentOutputParser) => boolean;
}

/** Splits on "\n" only, as a spawner does, so a "\r" or odd bytes reach the parser as printed. */
export function runFixture(launch: AgentLaunch, parser: AgentOutputParser, options: RunOptions = {}): Promise<FixtureRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { cwd: launch.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let pending = '';
    let killed = false;
    const take = (line: string): void => {
      lines.push(line);
      parser.onLine(line);
      if (!killed && options.killWhen?.(parser)) {
        killed = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        take(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      if (pending !== '') take(pending);
      resolve({ exitCode, signal, lines, output: lines.join('\n') });
    });
  });
}
