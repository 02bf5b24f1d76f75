import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlankaAdapter } from '../../adapters/planka/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startFakePlanka, type FakePlanka, type PlankaVersion, type SeededBoard } from '../../fixtures/planka/fake-planka.ts';

const BOARD_SHOW = /^\/api\/boards\/\d+$/;

/** What a poll costs: one GET /api/boards/:id per board, whatever the number of queues and cards. */
for (const version of [1, 2] as PlankaVersion[]) {
  describe(`Planka ${version}.x polls`, () => {
    let fake: FakePlanka;
    let adapter: PlankaAdapter;
    let main: SeededBoard;
    let other: SeededBoard;
    const queues = ['Dispatch.Tasks.Todo', 'Dispatch.Tasks.Doing', 'Dispatch.Tasks.Review', 'Ops.Inbox.Inbox'];

    before(async () => {
      fake = await startFakePlanka({ version });
      const bot = fake.seed.user({ username: 'bot' });
      main = fake.seed.boardWithLists({ project: 'Dispatch', board: 'Tasks', lists: ['Todo', 'Doing', 'Review', 'Done'], labels: ['agent:claude'], members: [bot] });
      other = fake.seed.boardWithLists({ project: 'Ops', board: 'Inbox', lists: ['Inbox'], members: [bot] });
      for (const list of [main.lists.Todo, main.lists.Doing, main.lists.Review, main.lists.Done, other.lists.Inbox]) {
        for (let i = 0; i < 25; i++) fake.seed.card(list, `${list.name} ${i}`, { labels: i % 2 ? [main.labels['agent:claude']] : [], members: list === other.lists.Inbox ? [] : [bot] });
      }
      adapter = new PlankaAdapter({ url: fake.url, credentials: { token: fake.tokenFor(bot) }, log: silentLogger });
    });
    after(async () => {
      await adapter?.close();
      await fake?.close();
    });

    it('first poll: version detection, project discovery, then one board read per board', async () => {
      fake.requests.length = 0;
      const tasks = await adapter.getReadyTasks(queues);
      assert.equal(tasks.length, 100);
      const expected = version === 2 ? ['GET /api/bootstrap'] : ['GET /api/bootstrap', 'GET /api/config'];
      expected.push('GET /api/projects', `GET /api/boards/${main.board.id}`, `GET /api/boards/${other.board.id}`);
      assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`).sort(), expected.sort());
    });

    it('later polls: exactly one GET /api/boards/:id per board, 3 queues on one board and 1 on another', async () => {
      fake.requests.length = 0;
      await adapter.getReadyTasks(queues);
      assert.equal(fake.requests.length, 2, fake.requests.map((r) => `${r.method} ${r.path}`).join(', '));
      assert.equal(fake.count('GET', BOARD_SHOW), 2);
      assert.deepEqual(new Set(fake.requests.map((r) => r.path)), new Set([`/api/boards/${main.board.id}`, `/api/boards/${other.board.id}`]));
    });

    it('costs the same with more cards and repeated queue names', async () => {
      for (let i = 0; i < 200; i++) fake.seed.card(main.lists.Todo, `more ${i}`);
      fake.requests.length = 0;
      const tasks = await adapter.getReadyTasks([...queues, queues[0]]);
      assert.equal(tasks.length, 300);
      assert.equal(fake.requests.length, 2);
    });

    it('maps cards from the board read alone, in list order, ids kept as exact strings', async () => {
      const tasks = await adapter.getReadyTasks(['Dispatch.Tasks.Doing']);
      const seeded = fake.store.cardsOfList(main.lists.Doing.id);
      assert.deepEqual(
        tasks.map((t) => t.id),
        seeded.map((c) => c.id),
      );
      assert.ok(BigInt(tasks[0].id) > BigInt(Number.MAX_SAFE_INTEGER), 'ids are beyond what a JS number holds');
      assert.equal(tasks[1].queue, 'Dispatch.Tasks.Doing');
      assert.deepEqual(tasks[1].labels, ['agent:claude']);
      assert.deepEqual(tasks[1].assignees, ['bot']);
      assert.equal(tasks[1].author, 'admin');
      assert.equal(tasks[1].url, `${fake.url}/cards/${tasks[1].id}`);
      assert.deepEqual(tasks[1].comments, []);
    });

    it('getTask after a poll reads the card and its comments only', async () => {
      const [task] = await adapter.getReadyTasks(['Ops.Inbox.Inbox']);
      fake.requests.length = 0;
      const full = await adapter.getTask(task.id);
      assert.equal(full.queue, 'Ops.Inbox.Inbox');
      assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`).sort(), [`GET /api/cards/${task.id}`, `GET /api/cards/${task.id}/${version === 2 ? 'comments' : 'actions'}`].sort());
    });
  });
}

describe('Planka getTask without a recent poll', () => {
  it('also reads the board once', async () => {
    const fake = await startFakePlanka({ version: 2 });
    const { lists } = fake.seed.boardWithLists({ project: 'P', board: 'B', lists: ['Todo'] });
    const card = fake.seed.card(lists.Todo, 'x');
    const adapter = new PlankaAdapter({ url: fake.url, credentials: { token: fake.tokenFor(fake.admin) }, log: silentLogger, boardCacheMs: 0 });
    try {
      await adapter.getTask(card.id);
      fake.requests.length = 0;
      const task = await adapter.getTask(card.id);
      assert.equal(task.queue, 'P.B.Todo');
      assert.equal(fake.requests.length, 3);
      assert.equal(fake.count('GET', BOARD_SHOW), 1);
    } finally {
      await adapter.close();
      await fake.close();
    }
  });
});
