import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { readLedgerState, type RebuildPlan } from '../../src/core/runs/rebuild.ts';
import { writeRebuild } from '../../src/core/runs/rebuild-write.ts';

const DAMAGED = '{"version":1,"runs":[';

function planFor(dir: string): RebuildPlan {
  const ledgerFile = join(dir, 'ledger.json');
  const { found, text } = readLedgerState(ledgerFile);
  return { ledgerFile, found, text, adopted: [], settle: [], leftAlone: [], unreadQueues: [], notes: [] };
}
const kept = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('ledger.json.')).sort();

describe('writing a rebuilt ledger', () => {
  it('a rebuild cut short after keeping the old file (ledger.json still the damaged one) can simply be run again', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ledger.json'), DAMAGED);
    // What a rebuild killed between its two steps leaves: the damaged file, and a kept link to it.
    linkSync(join(dir, 'ledger.json'), join(dir, 'ledger.json.damaged-2026-01-01T00:00:00.000Z'));
    const plan = planFor(dir);
    assert.equal(plan.found.state, 'damaged');
    const { keptAs } = await writeRebuild(plan, new Date('2026-01-02T00:00:00.000Z'));
    assert.equal(keptAs, join(dir, 'ledger.json.damaged-2026-01-02T00:00:00.000Z'));
    assert.deepEqual(kept(dir), ['ledger.json.damaged-2026-01-01T00:00:00.000Z', 'ledger.json.damaged-2026-01-02T00:00:00.000Z']);
    for (const name of kept(dir)) assert.equal(readFileSync(join(dir, name), 'utf8'), DAMAGED);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'ledger.json'), 'utf8')), { version: 1, runs: [], daemons: [] });
  });

  it('a ledger that changed after the plan was made is left alone, and nothing is kept', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ledger.json'), DAMAGED);
    const plan = planFor(dir);
    writeFileSync(join(dir, 'ledger.json'), `${DAMAGED}{}`);
    await assert.rejects(writeRebuild(plan), /changed while the rebuild looked .*nothing was changed/);
    assert.equal(readFileSync(join(dir, 'ledger.json'), 'utf8'), `${DAMAGED}{}`);
    assert.deepEqual(kept(dir), []);
  });

  it('a missing ledger is written, with nothing to keep', async () => {
    const dir = tempDir();
    const plan = planFor(dir);
    assert.equal(plan.found.state, 'missing');
    assert.deepEqual(await writeRebuild({ ...plan, lastApiPort: 8123 }), { keptAs: undefined });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'ledger.json'), 'utf8')), { version: 1, runs: [], daemons: [], lastApiPort: 8123 });
    assert.deepEqual(kept(dir), []);
  });
});
