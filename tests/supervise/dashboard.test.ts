import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileLedger } from '../../src/core/runs/ledger.ts';
import { localDay } from '../../src/core/supervise/budget.ts';
import { waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from '../cli/support.ts';
import { CHROMIUM_ARGS, findChromium } from '../dashboard/support.ts';
import { allRuns, commentsOf, groupAlive, queueOf, runningRun } from './support.ts';

const chromiumPath = findChromium();
if (!chromiumPath && process.env.CI) throw new Error('CI must run the browser test, but no Chromium was found at /usr/bin/chromium');

describe('supervision on the dashboard, in a real browser', { skip: chromiumPath ? false : 'no Chromium at /usr/bin/chromium (apt-get install chromium, or set DISPATCHER_CHROMIUM)' }, () => {
  it('says why a task waits while the daily budget is spent, then stops a running agent with the Stop button', { timeout: 120_000 }, async () => {
    const { chromium } = await import('playwright-core');
    const p = project([task('1', 'Refactor the parser')], `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'sleeper.mjs'))}, "60"]\nin_progress_queue = "In Progress"\n`, 'daily_budget_usd = 1');
    // Runs that ended today already cost $1.25: the budget is spent before the daemon starts.
    mkdirSync(join(p.dir, '.dispatcher'), { recursive: true });
    writeFileSync(join(p.dir, '.dispatcher/ledger.json'), JSON.stringify({ version: 1, runs: [], daemons: [], spend: { day: localDay(), costUsd: 1.25 } }));
    const daemon = startDaemon(p.dir);
    const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    after(async () => {
      await browser.close();
      if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    });
    const base = await waitFor(() => /dashboard on (http:\/\/[\d.:]+)\//.exec(daemon.output())?.[1], 20_000, 'the dashboard URL');
    const token = readFileSync(join(p.dir, '.dispatcher/operator-token'), 'utf8').trim();
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);

    const paused = page.locator('#cards .paused');
    await paused.waitFor({ timeout: 15_000 });
    assert.match((await paused.textContent()) ?? '', /paused: daily budget spent \(\$1\.25 of \$1\.00\)/);
    assert.match((await page.locator('#cards').textContent()) ?? '', /resumes in/);
    assert.match(daemon.output(), /no new agent starts: paused: daily budget spent/);
    assert.equal(queueOf(p.board, '1'), 'Todo', 'the task waits');

    // A new day, in effect: the budget lifts and the task is dispatched.
    await new FileLedger(join(p.dir, '.dispatcher')).update((data) => void (data.spend = undefined));
    const run = await runningRun(p.dir, '1');
    const stop = page.locator('#running tr[data-task-id="1"] button.stop');
    await stop.waitFor({ timeout: 15_000 });
    await stop.click();
    await waitFor(() => allRuns(p.dir).find((candidate) => candidate.id === run.id && candidate.status === 'stopped'), 10_000, 'the run stopped');
    assert.equal(groupAlive(run.pgid!), false);
    assert.equal(dialogs.length, 1, 'asked to confirm first');
    assert.match(dialogs[0], /Stop the agent of task 1 \(Refactor the parser\)\?/);
    await waitFor(() => commentsOf(p.board, '1').some((text) => /stopped from the dashboard/.test(text)), 10_000, 'the comment');
    assert.equal(queueOf(p.board, '1'), 'In Progress');
    await page.locator('#recent tr[data-task-id="1"] .status.idle').waitFor({ timeout: 10_000 });

    // The cookie alone, from elsewhere, cannot stop anything.
    const cookie = (await page.context().cookies(base))[0];
    const forged = await fetch(`${base}/dashboard/runs/${run.id}/stop`, { method: 'POST', headers: { cookie: `${cookie.name}=${cookie.value}`, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(forged.status, 403);
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
  });
});
