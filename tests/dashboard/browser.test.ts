import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import createJsonTracker from '../../adapters/json/index.ts';
import { silentLogger } from '../../src/log.ts';
import { ROOT, tempDir, waitFor, writeFile } from '../helpers.ts';
import { AGENTS, NODE, startDaemon, type Daemon } from '../cli/support.ts';
import { CHROMIUM_ARGS, findChromium } from './support.ts';

const chromiumPath = findChromium();
const HOSTILE = '<img src=x onerror=alert(1)>';
/** Where the picture goes: a temp folder, unless DISPATCHER_SCREENSHOT asks for it (docs/dashboard.png, to refresh the docs). */
const SCREENSHOT = process.env.DISPATCHER_SCREENSHOT ? resolve(ROOT, process.env.DISPATCHER_SCREENSHOT) : join(tempDir('dispatcher-screenshot-'), 'dashboard.png');
const missing = 'no Chromium found at /usr/bin/chromium (apt-get install chromium, or set DISPATCHER_CHROMIUM): the browser test is skipped';
if (!chromiumPath && process.env.CI) throw new Error(`CI must run the browser test, but ${missing}`);

/** A board with history-making tasks (quick successes and failures) and a long-running route. */
function browserProject(): { dir: string; board: string } {
  const dir = tempDir('dispatcher-browser-');
  const raw = (id: string, name: string, created: string) => ({ id, name, description: `About ${name}`, labels: [], assignees: [], comments: [], created_at: created });
  const board = join(dir, 'board.json');
  writeFileSync(
    board,
    JSON.stringify({
      queues: {
        Todo: [],
        Docs: [raw('101', '[HIGH] Document the retry policy', '2026-01-01T00:00:01Z'), raw('102', 'LOW: tidy the changelog', '2026-01-01T00:00:02Z'), raw('103', 'Explain the ledger file', '2026-01-01T00:00:03Z')],
        Bugs: [raw('201', 'CRITICAL: webhook drops events under load', '2026-01-01T00:00:04Z'), raw('202', 'Login form ignores the Enter key', '2026-01-01T00:00:05Z')],
        'In Progress': [],
        Done: [],
        Failed: [],
      },
    }),
  );
  const agent = (script: string, ...args: string[]) => `command = ${NODE}\nargs = [${[join(AGENTS, script), ...args].map((arg) => JSON.stringify(arg)).join(', ')}]\nin_progress_queue = "In Progress"\n`;
  writeFile(
    dir,
    'dispatcher.toml',
    [
      'poll_interval = 0.3',
      'kill_grace = 1',
      'api_port = 0',
      'max_concurrent_agents = 4',
      '[backend]\ntype = "json"\nurl = "board.json"',
      `[routing."Todo"]\n${agent('sleeper.mjs', '120')}timeout = 600`,
      `[routing."Docs"]\n${agent('sleeper.mjs', '1')}on_success_queue = "Done"`,
      `[routing."Bugs"]\n${agent('failer.mjs', '3')}on_failure_queue = "Failed"\nagent = "command"`,
    ].join('\n\n'),
  );
  return { dir, board };
}

function dashboardUrl(daemon: Daemon): string | undefined {
  return /dashboard on (http:\/\/[\d.:]+)\//.exec(daemon.output())?.[1];
}

describe('dashboard in a real browser', { skip: chromiumPath ? false : missing }, () => {
  it('shows a dispatch live, grows the log tail, renders a hostile task name as text, survives a restart and falls back to polling', { timeout: 180_000 }, async () => {
    const { chromium } = await import('playwright-core');
    const project = browserProject();
    const tracker = createJsonTracker({ options: { type: 'json', url: project.board }, baseDir: project.dir, env: {}, log: silentLogger });
    const daemons: Daemon[] = [];
    const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    after(async () => {
      await browser.close();
      for (const daemon of daemons) if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
      killAgents(project.dir);
    });

    // The first daemon is killed (a crash); its agents run on and the second adopts them, then
    // stops them when it stops (--stop-agents) so that none outlives the test.
    const first = startDaemon(project.dir);
    daemons.push(first);
    const base = await waitFor(() => dashboardUrl(first), 20_000, 'the dashboard URL in the log');
    await waitFor(() => (readBoard(project.board).queues.Docs.length === 0 && readBoard(project.board).queues.Bugs.length === 0 ? true : undefined), 20_000, 'the first tasks to be taken');
    const token = readFileSync(join(project.dir, '.dispatcher', 'operator-token'), 'utf8').trim();

    const context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, colorScheme: 'light' });
    const page = await context.newPage();
    const dialogs: string[] = [];
    const problems: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource|net::ERR_/.test(message.text())) problems.push(`console: ${message.text()}`);
    });

    // Sign in once with the token: the answer sets an HttpOnly cookie and sends the token out of the address bar.
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    assert.equal(page.url(), `${base}/`);
    const cookies = await context.cookies(base);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, 'Strict');
    assert.notEqual(cookies[0].value, token, 'the cookie is not the operator token');
    assert.ok(!(await page.content()).includes(token), 'no secret in the page');

    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr[data-task-id]').length >= 5, undefined, { timeout: 20_000 });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const cardTitles = await page.locator('#cards .card h3').allTextContents();
    assert.ok(cardTitles.includes('Agent slots') && !cardTitles.includes('Cluster'), `no Cluster card without [coordination]: ${cardTitles.join(', ')}`);
    const logBefore = await page.locator('#log .line').count();
    assert.ok(logBefore > 0, 'the log tail starts with the daemon\'s lines');

    const hostile = await tracker.createTask('Todo', HOSTILE, 'A task whose name is HTML');
    const hostileRow = page.locator(`#running tr[data-task-id="${hostile.id}"]`);
    await hostileRow.waitFor({ timeout: 15_000 });
    assert.equal(await hostileRow.locator('.title').textContent(), HOSTILE, 'the name shows as text');
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'it appeared without a reload');
    assert.equal(await page.locator('img').count(), 0, 'no element was made from task text');
    await page.waitForFunction((before) => document.querySelectorAll('#log .line').length > before, logBefore, { timeout: 10_000 });
    const logText = await page.locator('#log').textContent();
    assert.match(logText ?? '', new RegExp(`dispatched task ${hostile.id} \\(${HOSTILE.replace(/[()]/g, '\\$&')}\\)`));

    // A second running agent with a priority, and a failure waiting to retry: what the screenshot shows.
    const urgent = await tracker.createTask('Todo', 'CRITICAL: rotate the leaked deploy key', 'urgent');
    await page.locator(`#running tr.p-critical[data-task-id="${urgent.id}"]`).waitFor({ timeout: 15_000 });
    await page.waitForTimeout(1_500); // a moment of elapsed time, as a person would see it
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });
    assert.deepEqual([...dialogs], [], 'no alert or dialog fired');

    // Restart: the page notices the stream drop, reconnects to the new process by itself.
    const instance = await page.evaluate(() => document.documentElement.dataset.instance);
    first.child.kill('SIGKILL');
    await first.exited;
    await page.waitForSelector('#conn:not([data-state="live"])', { timeout: 10_000 });
    const second = startDaemon(project.dir, ['--stop-agents']);
    daemons.push(second);
    await waitFor(() => dashboardUrl(second), 20_000, 'the restarted dashboard');
    assert.equal(dashboardUrl(second), base, 'the daemon comes back on its port');
    await page.waitForFunction((old) => document.documentElement.dataset.instance !== old, instance, { timeout: 20_000 });
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'reconnected without a reload');

    // The stream is blocked (a proxy that buffers it, say): the page polls /api/v1/state instead.
    const fallback = await context.newPage();
    fallback.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await fallback.route('**/events', (route) => route.abort());
    await fallback.goto(`${base}/`);
    await fallback.waitForSelector('#conn[data-state="polling"]', { timeout: 15_000 });
    // Running if its agent outlived the crash (adopted), in the recent runs if not: either way, shown.
    await fallback.locator(`main tr[data-task-id="${hostile.id}"]`).first().waitFor({ timeout: 10_000 });
    const late = await tracker.createTask('Todo', 'Polled in: [low] prune old branches', '');
    await fallback.locator(`#running tr[data-task-id="${late.id}"]`).waitFor({ timeout: 20_000 });

    assert.deepEqual([...dialogs], [], 'no alert or dialog fired');
    assert.deepEqual([...problems], [], 'no script error and no CSP violation');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });
});

/** The agents this test started, should it fail half-way. */
function killAgents(dir: string): void {
  try {
    const ledger = JSON.parse(readFileSync(join(dir, '.dispatcher', 'ledger.json'), 'utf8')) as { runs: Array<{ pgid?: number; status: string }> };
    for (const run of ledger.runs) {
      if (run.pgid && (run.status === 'running' || run.status === 'starting')) {
        try {
          process.kill(-run.pgid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  } catch {
    // no ledger
  }
}

function readBoard(path: string): { queues: Record<string, unknown[]> } {
  return JSON.parse(readFileSync(path, 'utf8'));
}
