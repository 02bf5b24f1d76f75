import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { dispatchFile } from '../../src/commands/dispatch-file.ts';
import { TickRequests } from '../../src/core/dispatch/tick-requests.ts';
import { silentLogger } from '../../src/log.ts';
import { captureStream, giteaAndFolderPerTest, makeConfig } from '../dispatch-file/support.ts';
import { waitFor } from '../helpers.ts';

const each = giteaAndFolderPerTest();

describe('dispatch-file and webhooks', () => {
  it('a requested cycle comes at once (interval 300 s), and the rate limit still holds files back', async () => {
    const config = makeConfig(each.dir.path, each.fake, { intervalMs: 300_000, ratePerMinute: 1 });
    const files = () => (existsSync(join(each.dir.path, 'tasks', 'hans')) ? readdirSync(join(each.dir.path, 'tasks', 'hans')).sort() : []);
    const requests = new TickRequests();
    const triggers: string[] = [];
    requests.onTick(({ trigger }) => triggers.push(trigger));
    const stop = new AbortController();
    const running = dispatchFile({ config, log: silentLogger, once: false, dryRun: false, signal: stop.signal, stdout: captureStream(), requests });
    try {
      await waitFor(() => triggers.length === 1, 10_000, 'the first cycle');
      assert.deepEqual(files(), []);

      each.fake.addIssue('acme/app', { title: 'first', assignees: ['hans'] });
      await requests.request('webhook');
      await waitFor(() => files().length === 1, 10_000, 'the first task file');
      assert.deepEqual(triggers, ['poll', 'webhook']);

      // The bucket is empty for a minute: a delivery brings a cycle, not a file.
      each.fake.addIssue('acme/app', { title: 'second', assignees: ['hans'] });
      await requests.request('webhook');
      await sleep(300);
      assert.deepEqual(triggers, ['poll', 'webhook', 'webhook']);
      assert.equal(files().length, 1);
    } finally {
      stop.abort();
      await running;
    }
  });
});
