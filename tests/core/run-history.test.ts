import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RunRecord } from '../../src/core/runs/ledger.ts';
import { RunHistory } from '../../src/core/runs/run-history.ts';
import { tempDir } from '../helpers.ts';

const run = (id: string): RunRecord => ({ id, taskId: id, taskName: `task ${id}`, taskUrl: '', route: 'Todo', agent: 'command', attempt: 1, maxAttempts: 1, status: 'succeeded', createdAt: '2026-11-21T00:00:00.000Z' });
const ids = (runs: RunRecord[]) => runs.map((record) => record.id);

describe('RunHistory', () => {
  it('keeps what it appends without reading it back, and another reader sees the same', () => {
    const file = join(tempDir(), 'runs.jsonl');
    const history = new RunHistory(file, 10);
    history.append([run('a')]);
    history.recent();
    history.append([run('b'), run('c')]);
    assert.deepEqual(ids(history.recent()), ['a', 'b', 'c']);
    assert.deepEqual(ids(new RunHistory(file, 10).recent()), ['a', 'b', 'c']);
  });

  it('reads what another process appended before its own lines', () => {
    const file = join(tempDir(), 'runs.jsonl');
    const history = new RunHistory(file, 10);
    history.append([run('a')]);
    history.recent();
    appendFileSync(file, `${JSON.stringify(run('elsewhere'))}\n`);
    history.append([run('b')]);
    assert.deepEqual(ids(history.recent()), ['a', 'elsewhere', 'b']);
  });

  it('cuts the file back to the newest runs once it has twice as many', () => {
    const file = join(tempDir(), 'runs.jsonl');
    const history = new RunHistory(file, 2);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      history.recent();
      history.append([run(id)]);
    }
    assert.deepEqual(ids(history.recent()), ['d', 'e']);
    assert.deepEqual(ids(new RunHistory(file, 5).recent()), ['d', 'e']);
  });
});
