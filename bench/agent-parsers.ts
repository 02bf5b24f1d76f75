/**
 * Issue 8: what reading an agent's event stream costs. The recorded Claude and Codex streams are
 * repeated to 100,000 lines and fed to the parsers line by line, beside a bare JSON.parse of the
 * same lines measured in the same run. The parsers must keep up with any agent: the ratio says
 * how much they add to merely parsing the JSON.   node scripts/bench.mjs bench/agent-parsers.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import createClaudeAgent from '../adapters/claude/index.ts';
import createCodexAgent from '../adapters/codex/index.ts';
import type { AgentAdapter } from '../adapters/types.ts';
import { fmt, median, ratio } from './support.ts';

const LINES = 100_000;
const streams = join(import.meta.dirname, '../fixtures/agents/streams');

function linesOf(file: string): string[] {
  const recorded = readFileSync(join(streams, file), 'utf8').replaceAll('__SESSION_ID__', '7c1f0b7e-3a52-4d0e-9a54-2f8a3c0e9d11').replaceAll('__CWD__', '/tmp/work').trim().split('\n');
  return Array.from({ length: LINES }, (_, i) => recorded[i % recorded.length]);
}

function measure(name: string, agent: AgentAdapter, lines: string[]): void {
  const launch = { command: name, args: ['-p', 'x'], env: {}, cwd: '/tmp/work' };
  const bare: number[] = [];
  const parsed: number[] = [];
  for (let round = 0; round < 7; round++) {
    let started = performance.now();
    let sink = 0;
    for (const line of lines) sink += JSON.parse(line) ? 1 : 0;
    bare.push(performance.now() - started);
    const parser = agent.createParser!(agent.prepare(launch, { structuredOutput: true }));
    started = performance.now();
    for (const line of lines) parser.onLine(line);
    parser.report();
    parsed.push(performance.now() - started);
    if (sink !== lines.length) throw new Error('unreachable');
  }
  const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
  console.log(`${name}: ${LINES.toLocaleString('en')} lines (${(bytes / 2 ** 20).toFixed(1)} MiB), median of 7`);
  console.log(`  bare JSON.parse: ${fmt(median(bare))}`);
  console.log(`  parser:          ${fmt(median(parsed))}  (${Math.round(LINES / (median(parsed) / 1000)).toLocaleString('en')} lines/s)`);
  console.log(`  ratio: ${ratio(median(parsed), median(bare))}`);
}

measure('claude', createClaudeAgent(), linesOf('claude-success.jsonl'));
measure('codex', createCodexAgent(), linesOf('codex-success.jsonl'));
