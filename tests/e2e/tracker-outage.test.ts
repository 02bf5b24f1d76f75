import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakePlanka, type FakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { startDaemon, type Daemon } from '../cli/support.ts';
import { runCli, tempDir, waitFor, writeFile } from '../helpers.ts';

const AGENTS = join(import.meta.dirname, '../../fixtures/agents');

/**
 * A run ends while Planka is unreachable (or the dispatcher dies mid-write): its comment and its move
 * wait in the outbox of the ledger and reach Planka once it answers again, exactly once.
 */
async function setup() {
  const fake = await startFakePlanka({ version: 2 });
  const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x', acceptedTerms: true });
  const { lists } = fake.seed.boardWithLists({ project: 'Proj', board: 'Board', lists: ['Todo', 'Doing', 'Done'], members: [bot] });
  const card = fake.seed.card(lists.Todo, 'Fix the login page');
  const dir = tempDir();
  const go = join(dir, 'go');
  writeFile(dir, '.env', `PLANKA_TOKEN=${fake.tokenFor(bot)}\n`);
  writeFile(
    dir,
    'dispatcher.toml',
    `api_port = 0\npoll_interval = 0.5\n[backend]\ntype = "planka"\nurl = "${fake.url}"\nrequest_timeout = 2\n` +
      `[routing."Proj.Board.Todo"]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(AGENTS, 'wait-for-file.mjs'))}, ${JSON.stringify(go)}]\n` +
      `in_progress_queue = "Proj.Board.Doing"\non_success_queue = "Proj.Board.Done"\n`,
  );
  const listOf = () => fake.store.lists.get(fake.store.cards.get(card.id)!.listId)!.name;
  const comments = () => [...fake.store.comments.values()].filter((comment) => comment.cardId === card.id).map((comment) => comment.text);
  return { fake, dir, card, listOf, comments, go: () => writeFileSync(go, '') };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Runs `test` on a fresh fake Planka; `start` starts a daemon (and waits for the claim, unless told not to); all are stopped after. */
async function withPlanka(test: (s: Setup, start: (options?: { claim?: boolean }) => Promise<Daemon>) => Promise<void>): Promise<void> {
  const s = await setup();
  const daemons: Daemon[] = [];
  const start = async ({ claim = true } = {}) => {
    const daemon = startDaemon(s.dir);
    daemons.push(daemon);
    if (claim) await waitFor(() => s.listOf() === 'Doing', 20_000, 'the claim');
    return daemon;
  };
  try {
    await test(s, start);
  } finally {
    for (const daemon of daemons) {
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) continue;
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    await s.fake.close();
  }
}

const status = async (dir: string) => JSON.parse((await runCli(['status', '--json'], { cwd: dir })).stdout);

describe('a tracker down at a run\'s end', () => {
  it('Planka refusing connections when the run ends, then back: the daemon retries; the card reaches Done with one comment; status showed the writes pending', async () => {
    await withPlanka(async (s, start) => {
      const daemon = await start();
      s.fake.refuseConnections(true);
      s.go();
      const pending = await waitFor(async () => {
        const snapshot = await status(s.dir);
        return snapshot.trackerWrites.pending === 2 && snapshot.trackerWrites.items[0].tries > 0 ? snapshot : undefined;
      }, 20_000, 'two tracker writes pending in status --json');
      assert.equal(pending.recent[0].status, 'succeeded');
      assert.equal(pending.recent[0].trackerWrites, 'pending');
      assert.equal(s.listOf(), 'Doing');
      const text = await runCli(['status'], { cwd: s.dir });
      assert.match(text.stdout, /tracker writes: 2 pending for 1 task\(s\)(, next try in \d+ s|, being tried)/);

      s.fake.refuseConnections(false);
      await waitFor(() => s.listOf() === 'Done', 30_000, 'the move to Done');
      assert.equal(s.comments().length, 1, 'one comment');
      assert.match(s.comments()[0], /Agent finished \(exit 0\)/);
      const after = await waitFor(async () => {
        const snapshot = await status(s.dir);
        return snapshot.trackerWrites.pending === 0 ? snapshot : undefined;
      }, 10_000, 'no tracker write pending');
      assert.equal(after.recent[0].trackerWrites, 'done');
      assert.match(daemon.output(), /could not do the comment on task \d+ \(1 try; retrying in 1s\)/);
    });
  });

  it('kill -9 of the daemon while Planka is down, then a restart: the pending writes are resumed', async () => {
    await withPlanka(async (s, start) => {
      let daemon = await start();
      s.fake.refuseConnections(true);
      s.go();
      await waitFor(async () => (await status(s.dir)).trackerWrites.pending === 2, 20_000, 'two tracker writes pending');
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      s.fake.refuseConnections(false);
      daemon = await start({ claim: false });
      await waitFor(() => s.listOf() === 'Done', 30_000, 'the move to Done');
      await waitFor(async () => (await status(s.dir)).trackerWrites.pending === 0, 10_000, 'no tracker write pending');
      assert.equal(s.comments().length, 1, 'one comment');
    });
  });

  it('kill -9 after Planka took the comment but before the dispatcher recorded it: the next poll-once finds the comment, does not post it again, and makes the move', async () => {
    await withPlanka(async (s, start) => {
      const daemon = await start();
      // The move's look at the card hangs: the daemon has posted the comment and is still waiting when it dies.
      const card = new RegExp(`^/api/cards/${s.card.id}$`);
      // Every look at the card hangs (not only the first: a reconcile may look too), until released.
      const release = s.fake.intercept({ method: 'GET', path: card, delayMs: 60_000, times: 1_000 });
      s.go();
      await waitFor(() => s.comments().length === 1 && s.fake.requests.some((request) => request.method === 'GET' && card.test(request.path) && request.status === 0), 20_000, 'the comment posted, the move under way');
      daemon.child.kill('SIGKILL');
      await daemon.exited;
      release();
      const result = await runCli(['poll-once', '--log-format', 'plain'], { cwd: s.dir, timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(s.listOf(), 'Done');
      assert.equal(s.comments().length, 1, 'not posted twice');
      assert.match(result.stderr, /the comment on task \d+ was posted by an earlier try; not posting it again/);
      assert.equal((await status(s.dir)).trackerWrites.pending, 0);
    });
  });
});
