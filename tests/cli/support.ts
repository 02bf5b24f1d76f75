import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { CLI, tempDir, writeFile } from '../helpers.ts';

export const AGENTS = join(import.meta.dirname, '../../fixtures/agents');
export const NODE = JSON.stringify(process.execPath);

export function task(id: string, name = `task ${id}`) {
  return { id, name, description: `about ${name}`, labels: [], assignees: [], comments: [], tasks: [] };
}

/** A folder with board.json (Todo tasks) and dispatcher.toml (`extra` appended verbatim). */
export function project(todo: ReturnType<typeof task>[], routing: string, extra = ''): { dir: string; board: string; config: string } {
  const dir = tempDir();
  const board = join(dir, 'board.json');
  writeFileSync(board, JSON.stringify({ queues: { Todo: todo, 'In Progress': [], Done: [], Failed: [] } }, null, 2));
  const config = writeFile(dir, 'dispatcher.toml', `poll_interval = 0.3\nkill_grace = 1\napi_port = 0\nretry_delay = 0.2\n${extra}\n[backend]\ntype = "json"\nurl = "board.json"\n\n${routing}\n`);
  return { dir, board, config };
}

export interface Daemon {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `dispatcher run` as a real process; its log is collected. */
export function startDaemon(dir: string, args: string[] = []): Daemon {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('DISPATCHER_')) delete env[key];
  const child = spawn(process.execPath, [CLI, 'run', '--log-format', 'plain', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
