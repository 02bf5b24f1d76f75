import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers.ts';
import { project, task } from './support.ts';

const run = { id: 'r1', taskId: '1', taskName: 't', taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'running', createdAt: '2026-01-01T00:00:00Z' };
const DAMAGED: Array<[string, string]> = [
  ['empty', ''],
  ['truncated', JSON.stringify({ version: 1, runs: [run], daemons: [] }).slice(0, 40)],
  ['garbage', '\u0000\u0001garbage'],
  ['a list', '[]'],
  ['runs that are not a list', '{"runs":5}'],
  ['no version', JSON.stringify({ runs: [], daemons: [] })],
  ['a run without its fields', JSON.stringify({ version: 1, runs: [{ id: 'x' }], daemons: [] })],
  ['a run with an unknown status', JSON.stringify({ version: 1, runs: [{ ...run, status: 'flying' }], daemons: [] })],
  ['a run with a process group of 1', JSON.stringify({ version: 1, runs: [{ ...run, pgid: 1 }], daemons: [] })],
];

describe('a damaged ledger', () => {
  const p = project([task('1')], `[routing."Todo"]\ncommand = "true"\nin_progress_queue = "In Progress"\n`);
  const ledger = join(p.dir, '.dispatcher/ledger.json');
  mkdirSync(join(p.dir, '.dispatcher'), { recursive: true });

  for (const [what, text] of DAMAGED) {
    it(`(${what}) stops run, status and poll-once with one line, exit 2, and is left as it was`, async () => {
      writeFileSync(ledger, text);
      const board = readFileSync(p.board, 'utf8');
      for (const command of [['status'], ['poll-once'], ['run'], ['status', '--json']]) {
        const result = await runCli(command, { cwd: p.dir, timeoutMs: 20_000 });
        assert.equal(result.code, 2, `${command.join(' ')}: ${result.stderr}`);
        const lines = result.stderr.trim().split('\n').filter((line) => line.startsWith('dispatcher:'));
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0], /^dispatcher: the ledger .*ledger\.json is damaged \(.+\); nothing was changed\. Run `dispatcher ledger rebuild`/);
        assert.doesNotMatch(result.stderr, /unexpected error|    at /);
      }
      assert.equal(readFileSync(ledger, 'utf8'), text, 'the damaged file is never overwritten');
      assert.equal(readFileSync(p.board, 'utf8'), board, 'nothing was claimed');
    });
  }

  it('says where a valid-looking ledger is wrong', async () => {
    writeFileSync(ledger, '{"runs":5}');
    const result = await runCli(['status'], { cwd: p.dir });
    assert.match(result.stderr, /damaged \(version: /);
    writeFileSync(ledger, JSON.stringify({ version: 1, runs: [{ ...run, status: 'flying' }], daemons: [] }));
    assert.match((await runCli(['status'], { cwd: p.dir })).stderr, /damaged \(runs\.0\.status: /);
  });
});
