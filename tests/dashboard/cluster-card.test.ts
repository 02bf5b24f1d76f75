import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { runCli, waitFor } from '../helpers.ts';
import { migrate } from '../../src/core/runs/postgres/migrate.ts';
import { connect, freshDatabase } from '../support/postgres.ts';
import { hostFolder, type Host, startClusterBoard, startHost } from '../support/cluster-hosts.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { CHROMIUM_ARGS, findChromium } from './support.ts';

/**
 * The Cluster card in a real browser: two `dispatcher run` hosts (the built CLI: `npm run build`
 * first) with [coordination] on one PostgreSQL database and one fake Planka board, agents that
 * sleep. Host "b" (2 slots) fills first, then "a" (3 slots) is held to 2 agents by the cluster cap
 * of 4, so the cluster has no free slot although "a" has one; then "b" is killed -9 and the page,
 * never reloaded, shows it down and taken over by "a".
 */
const chromiumPath = findChromium();
const missing = 'no Chromium found at /usr/bin/chromium (apt-get install chromium, or set DISPATCHER_CHROMIUM): the browser test is skipped';
if (!chromiumPath && process.env.CI) throw new Error(`CI must run the browser test, but ${missing}`);

const LEASE_TTL = 3;
const CLUSTER_CAP = 4;
/** Any password: the throwaway server trusts loopback, so it only shows whether the page leaks it. */
const DB_PASSWORD = 'pg-Secret-4f9c2e';

interface ShownCard {
  /** The big number. */
  running: string;
  /** Free slots and the cap. */
  summary: string;
  /** Per host: its name and agents, then its lease. */
  hosts: Array<{ hostId: string; text: string; lease: string }>;
}

interface ClusterJson {
  running: number;
  free: number;
  max?: number;
  hosts: Array<{ hostId: string; alive: boolean; running: number; slots?: number; free: number; takenOverBy?: string }>;
}

describe('the Cluster card in a real browser', { skip: chromiumPath ? false : missing }, () => {
  it('shows both hosts with their lease, agents and free slots as status --json has them, a dead host taken over live, and no secret', { timeout: 120_000 }, async () => {
    const { chromium } = await import('playwright-core');
    // Registered first, so it runs before the database is dropped (hooks run in the order they were added).
    const cleanups: Array<() => unknown> = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    const url = new URL(await freshDatabase());
    url.password = DB_PASSWORD;
    const databaseUrl = url.href;
    const db = await connect(databaseUrl);
    await migrate(db);
    const board = await startClusterBoard(5);
    cleanups.push(() => board.fake.close());
    const setup = { tasks: 5, agentSeconds: 120, agent: 'sleep' as const, clusterCap: CLUSTER_CAP, leaseTtl: LEASE_TTL, pollInterval: 0.3, databaseUrl };
    // a polls slowly, so that its page is not rebuilt by its own ticks: the lease ages must stay true without them.
    // a reaches the database through a proxy the test can cut.
    const target = new URL(databaseUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => proxy.close());
    const folderA = hostFolder({ ...setup, databaseUrl: proxy.through(databaseUrl), slotsPerHost: 3, pollInterval: 8 }, board.fake.url, board.bot.password);
    const folderB = hostFolder({ ...setup, slotsPerHost: 2 }, board.fake.url, board.bot.password);
    cleanups.push(folderA.cleanup, folderB.cleanup);
    const hosts: Host[] = [];
    const agentGroups = new Set<number>();
    cleanups.push(async () => {
      // A daemon's first SIGTERM waits for its agents: they sleep for minutes, so they go first.
      for (const host of hosts) if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGTERM');
      await collectAgentGroups();
      for (const pgid of agentGroups) killGroup(pgid);
      await Promise.all(hosts.map((host) => host.exited));
    });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    async function collectAgentGroups(): Promise<void> {
      const { rows } = await db.query<{ pgid: number }>(`select (record->>'pgid')::int as pgid from dispatcher_runs where record ? 'pgid'`).catch(() => ({ rows: [] }));
      for (const row of rows) agentGroups.add(row.pgid);
    }
    const runningOn = async (hostId: string) =>
      (await db.query<{ n: number }>(`select count(*)::int as n from dispatcher_runs where host_id = $1 and status = 'running' and record ? 'pgid'`, [hostId])).rows[0].n;
    const logs = () => hosts.map((host) => `--- ${host.id}\n${host.output()}`).join('\n');

    // "b" first, so that both hosts run agents: it fills its 2 slots, then "a" takes what the cap leaves.
    const b = startHost('b', folderB.dir);
    hosts.push(b);
    await waitFor(async () => (await runningOn('b')) === 2, 30_000, 'two agents running on b').catch((error) => assert.fail(`${error.message}\n${logs()}`));
    const a = startHost('a', folderA.dir);
    hosts.push(a);
    await waitFor(async () => (await runningOn('a')) === 2, 30_000, 'two agents running on a').catch((error) => assert.fail(`${error.message}\n${logs()}`));
    await collectAgentGroups();
    const base = await waitFor(() => /dashboard on (http:\/\/[\d.:]+)\//.exec(a.output())?.[1], 10_000, "a's dashboard URL");
    const token = readFileSync(join(folderA.dir, '.dispatcher', 'operator-token'), 'utf8').trim();

    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    // The card agrees with `status --json`: 4 running, none free (the cap), a 2/3 with one free, b 2/2.
    const before = await cardMatchingStatus(page, folderA.dir);
    assert.equal(before.json.running, 4);
    assert.equal(before.running, '4');
    assert.equal(before.json.max, CLUSTER_CAP);
    assert.equal(before.json.free, 0, 'the cap leaves no free slot in the cluster although a has one');
    assert.equal(before.summary, '0 free · cluster cap 4');
    assert.deepEqual(before.json.hosts.map((host) => [host.hostId, host.alive, host.running, host.slots, host.free]), [
      ['a', true, 2, 3, 1],
      ['b', true, 2, 2, 0],
    ]);
    assert.deepEqual(before.hosts.map((host) => host.text), ['a (this host) · 2/3 running, 1 free', 'b · 2/2 running, 0 free']);
    // The ages stay within the lease (3 s) while the page is watched: it rereads as often as leases are renewed.
    for (let sample = 0; sample < 20; sample++) {
      for (const host of (await readCard(page)).hosts) assert.match(host.lease, /^lease renewed (just now|[1-4]s ago)$/, host.hostId);
      await page.waitForTimeout(300);
    }
    // Nothing secret on the page, in the state nor in the stream's log tail.
    const shown = (await page.content()) + JSON.stringify(await page.evaluate(async () => (await fetch('/api/v1/state')).json()));
    for (const secret of [databaseUrl, DB_PASSWORD, board.bot.password, token]) assert.ok(!shown.includes(secret), `${secret} is not on the page`);

    // kill -9 of b's daemon and agents: its lease runs out, a takes it over; the page follows without a reload.
    const { rows: ofB } = await db.query<{ pgid: number }>(`select (record->>'pgid')::int as pgid from dispatcher_runs where host_id = 'b' and status = 'running' and record ? 'pgid'`);
    b.child.kill('SIGKILL');
    for (const { pgid } of ofB) killGroup(pgid);
    await b.exited;
    const dead = page.locator('[data-card="cluster"] [data-host-id="b"].bad');
    await dead.waitFor({ timeout: (LEASE_TTL + 15) * 1000 });
    await waitFor(async () => /down, taken over by a/.test((await dead.textContent()) ?? ''), 20_000, 'b shown taken over by a').catch(async (error) =>
      assert.fail(`${error.message}: ${await dead.textContent()}\n${logs()}`),
    );
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'updated without a reload');

    // b's runs are settled lost and retried on a, which fills its 3 slots: the card follows `status --json` again.
    await waitFor(async () => (await runningOn('a')) === 3, 30_000, 'a running three agents').catch((error) => assert.fail(`${error.message}\n${logs()}`));
    await collectAgentGroups();
    const later = await cardMatchingStatus(page, folderA.dir);
    assert.deepEqual(later.json.hosts.map((host) => [host.hostId, host.alive, host.running, host.free, host.takenOverBy]), [
      ['a', true, 3, 0, undefined],
      ['b', false, 0, 0, 'a'],
    ]);
    assert.equal(later.summary, '0 free · cluster cap 4');
    assert.deepEqual(later.hosts.map((host) => host.text), ['a (this host) · 3/3 running, 0 free', 'b']);
    assert.match(later.hosts[1].lease, /^down, taken over by a · no heartbeat for [\dm ]+s$/);

    // On a phone the card keeps every word of each host: lines wrap, nothing is cut off.
    await page.setViewportSize({ width: 390, height: 844 });
    const clipped = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[data-card="cluster"] .line, [data-card="cluster"] .big')]
        .filter((node) => node.scrollWidth > node.clientWidth + 1 || node.getBoundingClientRect().right > node.closest('.card')!.getBoundingClientRect().right + 1)
        .map((node) => node.textContent),
    );
    assert.deepEqual(clipped, [], 'no host line is cut off at 390 px');

    // a cut off from the database: the card says so in red, without the URL; then it comes back by itself.
    proxy.cut();
    const down = page.locator('[data-card="cluster"] .line.bad');
    await waitFor(async () => /^cannot read the cluster: .*unreachable/.test((await down.first().textContent().catch(() => null)) ?? ''), 20_000, 'the card to say the database is unreachable');
    assert.equal(await page.locator('[data-card="cluster"] [data-host-id]').count(), 0, 'no host shown as if it were current');
    const cutOff = await page.content();
    for (const secret of [databaseUrl, proxy.through(databaseUrl), DB_PASSWORD]) assert.ok(!cutOff.includes(secret), `${secret} is not on the page`);
    proxy.heal();
    await page.locator('[data-card="cluster"] [data-host-id="a"]:not(.bad)').waitFor({ timeout: 20_000 });
    assert.deepEqual(problems, [], 'no script error');
  });
});

/** Waits until the card shows what `status --json` on host a says (numbers and states: ages move), and returns both. */
async function cardMatchingStatus(page: Page, dir: string): Promise<ShownCard & { json: ClusterJson }> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const status = await runCli(['status', '--json'], { cwd: dir, env: { DISPATCHER_HOST_ID: 'a' } });
        const json = JSON.parse(status.stdout).cluster as ClusterJson;
        const shown = await readCard(page);
        last = `card: ${JSON.stringify(shown)}\nstatus: ${JSON.stringify(json)}`;
        const hostsMatch = json.hosts.every((host, index) => {
          const { hostId, text, lease } = shown.hosts[index] ?? {};
          const name = `${host.hostId}${host.hostId === 'a' ? ' (this host)' : ''}`;
          if (hostId !== host.hostId) return false;
          if (!host.alive) return text === `${name}${host.running ? ` · ${host.running} running` : ''}` && lease.startsWith(host.takenOverBy ? `down, taken over by ${host.takenOverBy} · ` : 'lease ran out · ');
          return text === `${name} · ${host.slots === undefined ? `${host.running} running` : `${host.running}/${host.slots} running, ${host.free} free`}` && lease.startsWith('lease renewed ');
        });
        const same = shown.running === String(json.running) && shown.summary === `${json.free} free${json.max === undefined ? '' : ` · cluster cap ${json.max}`}` && shown.hosts.length === json.hosts.length && hostsMatch;
        return same ? { ...shown, json } : undefined;
      },
      30_000,
      'the card to match status --json',
    );
  } catch (error) {
    return assert.fail(`${(error as Error).message}\n${last}`);
  }
}

async function readCard(page: Page): Promise<ShownCard> {
  return page.evaluate(() => {
    const card = document.querySelector<HTMLElement>('[data-card="cluster"]');
    return {
      running: card?.querySelector('.big')?.firstChild?.textContent ?? '',
      summary: card?.querySelector('.line.summary')?.textContent ?? '',
      hosts: [...(card?.querySelectorAll<HTMLElement>('[data-host-id]') ?? [])].map((line) => {
        const lease = line.querySelector('.lease')?.textContent ?? '';
        return { hostId: line.dataset.hostId!, text: (line.textContent ?? '').slice(0, -lease.length || undefined), lease };
      }),
    };
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
