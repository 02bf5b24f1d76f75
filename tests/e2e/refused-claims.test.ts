import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { startFakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { tempDir, writeFile } from '../helpers.ts';
import { startDaemon, type Daemon } from '../cli/support.ts';

/**
 * A tracker that refuses every claim of some tasks (no write access) sees at most one claim attempt
 * per task per poll interval, counted on the fake tracker's own HTTP server while `dispatcher run`
 * goes on for several intervals. Tasks of another route keep running meanwhile, so the ticks that
 * follow a run's end are exercised too.
 */
const POLL_S = 0.4;
const WATCH_MS = 4_000;

function daemonDir(backend: string, env: string, routes: string): string {
  const dir = tempDir();
  writeFile(dir, '.env', env);
  writeFile(dir, 'dispatcher.toml', `poll_interval = ${POLL_S}\napi_port = 0\nmax_concurrent_agents = 2\n${backend}\n${routes}`);
  return dir;
}

const route = (queue: string, inProgress: string, done: string) =>
  `[routing.${JSON.stringify(queue)}]\ncommand = "true"\nin_progress_queue = ${JSON.stringify(inProgress)}\non_success_queue = ${JSON.stringify(done)}\n`;

/** Watches the daemon for at least `WATCH_MS`, and until `done` (at most 60 s); returns its log and how long it ran. */
async function watch(daemon: Daemon, done: () => boolean = () => true): Promise<{ output: string; ms: number }> {
  const started = Date.now();
  await sleep(WATCH_MS);
  while (!done() && Date.now() - started < 60_000) await sleep(100);
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  return { output: daemon.output(), ms: Date.now() - started };
}

/** At most one attempt per poll interval watched (plus the first), and at least the first. */
function assertPaced(attempts: number, ms: number, what: string): void {
  const most = Math.floor(ms / (POLL_S * 1000)) + 1;
  assert.ok(attempts >= 1, `${what}: the claim was tried`);
  assert.ok(attempts <= most, `${what}: ${attempts} claim attempts in ${ms} ms with polls every ${POLL_S}s (at most ${most})`);
}

describe('a tracker refusing claims', { concurrency: false }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('Planka: a board where the bot is only a viewer gets one claim attempt per card per poll, and the other board keeps dispatching', async () => {
    const fake = await startFakePlanka({ version: 2 });
    cleanups.push(() => fake.close());
    const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x' });
    const locked = fake.seed.boardWithLists({ project: 'P', board: 'Locked', lists: ['Todo', 'Doing', 'Done'] });
    fake.seed.member(locked.board, bot, 'viewer');
    const open = fake.seed.boardWithLists({ project: 'P', board: 'Open', lists: ['Todo', 'Doing', 'Done'], members: [bot] });
    const refused = [fake.seed.card(locked.lists.Todo, 'refused one'), fake.seed.card(locked.lists.Todo, 'refused two')];
    for (let i = 0; i < 6; i++) fake.seed.card(open.lists.Todo, `fine ${i}`);
    const dir = daemonDir(
      `[backend]\ntype = "planka"\nurl = "${fake.url}"\n`,
      `PLANKA_USER=bot\nPLANKA_PASSWORD=${bot.password}\n`,
      route('P.Locked.Todo', 'P.Locked.Doing', 'P.Locked.Done') + route('P.Open.Todo', 'P.Open.Doing', 'P.Open.Done'),
    );
    const doneCards = () => [...fake.store.cards.values()].filter((card) => card.listId === open.lists.Done.id).length;
    const { output, ms } = await watch(startDaemon(dir), () => doneCards() === 6);
    for (const card of refused) assertPaced(fake.count('PATCH', new RegExp(`^/api/cards/${card.id}$`)), ms, `card ${card.id}`);
    assert.equal(doneCards(), 6, `the other board's cards all ran:\n${output}`);
    for (const card of refused) assert.ok(fake.store.cards.get(String(card.id))!.listId === locked.lists.Todo.id, 'a refused card stays where it was');
    const warnings = output.split('\n').filter((line) => line.includes(`could not claim task ${refused[0].id}`));
    assert.ok(warnings.length >= 1, output);
    assert.deepEqual(warnings.map((line) => /\((\d+) refused in a row\)/.exec(line)?.[1]), warnings.map((_, index) => String(index + 1)), `one warning per backoff step:\n${warnings.join('\n')}`);
    assert.match(warnings[0], /403|rights|forbidden/i);
    assert.match(warnings[0], /not tried again for 400ms \(1 refused in a row\)/);
  });

  it('Gitea: a token without write access gets one claim attempt per issue per poll', async () => {
    const fake = await startFakeGitea();
    cleanups.push(() => fake.close());
    fake.addRepo('acme/locked', { labels: ['ready', 'doing'] });
    const issues = [fake.addIssue('acme/locked', { title: 'one', labels: ['ready'] }), fake.addIssue('acme/locked', { title: 'two', labels: ['ready'] })];
    fake.setReadOnly(true);
    const dir = daemonDir(`[backend]\ntype = "gitea"\nurl = "${fake.url}"\n`, `GITEA_TOKEN=${fake.token}\n`, route('acme/locked:ready', 'acme/locked:doing', 'acme/locked:closed'));
    const { output, ms } = await watch(startDaemon(dir));
    for (const issue of issues) {
      const writes = fake.requests.filter((request) => request.method !== 'GET' && request.path.startsWith(`/api/v1/repos/acme/locked/issues/${issue.number}/`)).length;
      assertPaced(writes, ms, `issue #${issue.number}`);
    }
    assert.match(output, /could not claim task acme\/locked#1 .*403|could not claim task acme\/locked#1 .*permission/);
  });
});
