/**
 * Issue 2: median wall time of `dispatcher task show <id> --json` on a 1,000-task JSON board,
 * beside `node -e ''` measured in the same run (interleaved), and their ratio. Target ≤ 1.6×.
 * Needs the built CLI (`npm run build`).   node --import tsx bench/task-show.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, median, ratio, scratch } from './support.ts';

const runs = Number(process.argv[2] ?? 30);
const cli = join(import.meta.dirname, '..', 'bin', 'dispatcher.js');
const { dir, cleanup } = scratch('task-show-bench-');
const tasks = Array.from({ length: 1000 }, (_, i) => ({
  id: String(i + 1),
  name: `Task number ${i + 1}`,
  description: 'Some description of the work to do. '.repeat(5),
  labels: ['bug'],
  assignees: [],
  comments: [{ author: 'alice', text: 'A comment.', created_at: '2026-01-01T00:00:00Z' }],
  tasks: [],
}));
writeFileSync(join(dir, 'board.json'), JSON.stringify({ queues: { Todo: tasks.slice(0, 500), 'In Progress': tasks.slice(500), Done: [] } }, null, 2));
writeFileSync(join(dir, 'dispatcher.toml'), '[backend]\ntype = "json"\nurl = "board.json"\n[routing."Todo"]\ncommand = "true"\n');

function time(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

const bare: number[] = [];
const show: number[] = [];
time([cli, 'task', 'show', '742', '--json']); // warm the file cache
for (let i = 0; i < runs; i++) {
  bare.push(time(['-e', '']));
  show.push(time([cli, 'task', 'show', '742', '--json']));
}
cleanup();
console.log(`task show on a 1,000-task board, median of ${runs} (interleaved)`);
console.log(`  node -e '':                     ${fmt(median(bare))}`);
console.log(`  dispatcher task show 742 --json: ${fmt(median(show))}`);
console.log(`  ratio: ${ratio(median(show), median(bare))} (target ≤ 1.6×)`);
