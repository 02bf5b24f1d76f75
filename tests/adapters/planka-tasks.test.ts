import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PlankaAdapter } from '../../adapters/planka/index.ts';
import { AdapterError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { startFakePlanka, type FakePlanka, type PlankaVersion, type SeededBoard, type UserRecord } from '../../fixtures/planka/fake-planka.ts';

async function rejection(promise: Promise<unknown>, kind: string): Promise<AdapterError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AdapterError, `expected an AdapterError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail('expected a rejection');
}

for (const version of [1, 2] as PlankaVersion[]) {
  describe(`Planka ${version}.x tasks`, () => {
    let fake: FakePlanka;
    let adapter: PlankaAdapter;
    let bot: UserRecord;
    let ana: UserRecord;
    let main: SeededBoard;
    let other: SeededBoard;

    before(async () => {
      fake = await startFakePlanka({ version });
      bot = fake.seed.user({ username: 'bot' });
      ana = fake.seed.user({ username: 'ana' });
      main = fake.seed.boardWithLists({ project: 'Dispatch', board: 'Tasks', lists: ['Todo', 'Doing', 'Done'], labels: ['agent:claude', 'priority:high'], members: [bot, ana] });
      other = fake.seed.boardWithLists({ project: 'Dispatch', board: 'Other', lists: ['Inbox'], members: [bot] });
      adapter = new PlankaAdapter({ url: `${fake.url}/`, credentials: { token: fake.tokenFor(bot) }, log: silentLogger, retryDelayMs: 10 });
    });
    after(async () => {
      await adapter?.close();
      await fake?.close();
    });

    const cardOf = (id: string) => fake.store.cards.get(id)!;

    it('creates at the bottom of the list (max position + 65536), without an empty description', async () => {
      fake.seed.card(main.lists.Todo, 'a', { position: 65536 });
      fake.seed.card(main.lists.Todo, 'b', { position: 300000 });
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'New', '');
      assert.equal(cardOf(task.id).position, 300000 + 65536);
      assert.equal(cardOf(task.id).description, null);
      assert.equal(task.description, '');
      assert.equal(task.url, `${fake.url}/cards/${task.id}`);
      assert.equal(task.queue, 'Dispatch.Tasks.Todo');
      if (version === 2) assert.equal(cardOf(task.id).type, 'project');
    });

    it('moves to the bottom of the target list, with boardId only across boards', async () => {
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'Travels', 'x');
      fake.seed.card(main.lists.Doing, 'low', { position: 500000 });
      await adapter.moveTask(task.id, 'Dispatch.Tasks.Doing');
      assert.equal(cardOf(task.id).listId, main.lists.Doing.id);
      assert.equal(cardOf(task.id).position, 500000 + 65536);
      const patches = () => fake.requests.filter((r) => r.method === 'PATCH' && r.path === `/api/cards/${task.id}`);
      const before = patches().length;
      await adapter.moveTask(task.id, 'Dispatch.Tasks.Doing');
      assert.equal(patches().length, before, 'no request when it is there already');
      await adapter.moveTask(task.id, 'Dispatch.Other.Inbox');
      assert.equal(cardOf(task.id).boardId, other.board.id);
      assert.equal((await adapter.getTask(task.id)).queue, 'Dispatch.Other.Inbox');
    });

    it('maps labels and assignees by name, treating "already so" answers as success', async () => {
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'Labelled', 'x');
      await adapter.updateTask(task.id, { labels: ['priority:high', 'agent:claude'], assignees: ['ana', 'bot'] });
      let read = await adapter.getTask(task.id);
      assert.deepEqual(read.labels, ['agent:claude', 'priority:high']);
      assert.deepEqual([...read.assignees].sort(), ['ana', 'bot']);

      const addMember = version === 2 ? /\/card-memberships$/ : /\/memberships$/;
      const removeLabel = version === 2 ? /\/card-labels\/labelId:\d+$/ : /\/labels\/\d+$/;
      const undoConflict = fake.intercept({ method: 'POST', path: addMember, status: 409, body: '{"code":"E_CONFLICT","message":"User already card member"}' });
      const undoMissing = fake.intercept({ method: 'DELETE', path: removeLabel, status: 404, body: '{"code":"E_NOT_FOUND","message":"Label not in card"}' });
      try {
        fake.requests.length = 0;
        await adapter.updateTask(task.id, { labels: ['agent:claude'], assignees: ['ana', 'bot'] });
        const created = await adapter.createTask('Dispatch.Tasks.Todo', 'Raced', 'x');
        await adapter.updateTask(created.id, { assignees: ['bot'] });
        const answers = fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.status}`);
        assert.ok(answers.includes('DELETE 404') && answers.includes('POST 409'), `both "already so" answers were met: ${answers.join(', ')}`);
      } finally {
        undoConflict();
        undoMissing();
      }
      await adapter.updateTask(task.id, { labels: [], assignees: [] });
      read = await adapter.getTask(task.id);
      assert.deepEqual(read.labels, []);
      assert.deepEqual(read.assignees, []);
    });

    it('refuses unknown label and user names before changing anything, listing what exists', async () => {
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'Careful', 'x');
      const before = fake.requests.length;
      const label = await rejection(adapter.updateTask(task.id, { name: 'Changed', labels: ['agent:claude', 'nope'] }), 'invalid');
      assert.match(label.message, /"nope"/);
      assert.match(label.message, /"agent:claude", "priority:high"/);
      const user = await rejection(adapter.updateTask(task.id, { assignees: ['stranger'] }), 'invalid');
      assert.match(user.message, /"stranger" is not a member/);
      assert.match(user.message, /"bot"/);
      assert.equal(fake.requests.slice(before).filter((r) => r.method !== 'GET').length, 0);
      assert.equal(cardOf(task.id).name, 'Careful');
    });

    it('clears the description with null and keeps names', async () => {
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'Described', 'words');
      await adapter.updateTask(task.id, { description: '' });
      assert.equal(cardOf(task.id).description, null);
      assert.equal((await adapter.getTask(task.id)).description, '');
      await rejection(adapter.updateTask(task.id, { name: '  ' }), 'invalid');
    });

    it('returns every comment, oldest first, past a page of 50, with authors', async () => {
      const task = await adapter.createTask('Dispatch.Tasks.Todo', 'Chatty', 'x');
      const card = cardOf(task.id);
      for (let i = 0; i < 120; i++) fake.seed.comment(card, `comment ${i}`, i % 2 ? ana : bot);
      await adapter.addComment(task.id, 'last word');
      const read = await adapter.getTask(task.id);
      assert.equal(read.comments.length, 121);
      assert.deepEqual(
        read.comments.slice(0, 2).map((c) => [c.author, c.text]),
        [
          ['bot', 'comment 0'],
          ['ana', 'comment 1'],
        ],
      );
      assert.deepEqual(read.comments.at(-1)?.text, 'last word');
      assert.match(read.comments[0].createdAt, /^\d{4}-\d\d-\d\dT/);
    });

    it('queue names: exact match, close names suggested, ambiguity refused', async () => {
      const typo = await rejection(adapter.getReadyTasks(['Dispatch.Tasks.Tood']), 'not_found');
      assert.match(typo.message, /close: "Dispatch\.Tasks\.Todo"/);
      await rejection(adapter.getReadyTasks(['dispatch.tasks.todo']), 'not_found');
      const board = await rejection(adapter.createTask('Dispatch.Taks.Todo', 'x', ''), 'not_found');
      assert.match(board.message, /no Planka board matches/);
      assert.match(board.message, /"Dispatch\.Tasks"/);

      fake.seed.list(main.board, 'Todo');
      const twice = await rejection(adapter.getReadyTasks(['Dispatch.Tasks.Todo']), 'invalid');
      assert.match(twice.message, /matches 2 Planka lists/);
    });

    it('resolves dotted names across project and board boundaries, refusing a clash', async () => {
      const bare = fake.seed.boardWithLists({ project: 'a.b', board: 'c', lists: ['d'], members: [bot] });
      const task = await adapter.createTask('a.b.c.d', 'Dotted', '');
      assert.equal(cardOf(task.id).listId, bare.lists.d.id);
      fake.seed.boardWithLists({ project: 'x.y', board: 'z', lists: ['w'], members: [bot] });
      fake.seed.boardWithLists({ project: 'x', board: 'y.z', lists: ['w'], members: [bot] });
      const clash = await rejection(adapter.getReadyTasks(['x.y.z.w']), 'invalid');
      assert.match(clash.message, /matches 2 Planka lists/);
    });

    it('sees a new board with a clashing name once the directory is older than its limit', async () => {
      const fresh = new PlankaAdapter({ url: fake.url, credentials: { token: fake.tokenFor(bot) }, log: silentLogger, directoryCacheMs: 0 });
      try {
        fake.seed.boardWithLists({ project: 'm.n', board: 'o', lists: ['p'], members: [bot] });
        await fresh.getReadyTasks(['m.n.o.p']);
        fake.seed.boardWithLists({ project: 'm', board: 'n.o', lists: ['p'], members: [bot] });
        await rejection(fresh.getReadyTasks(['m.n.o.p']), 'invalid');
      } finally {
        await fresh.close();
      }
    });

    it('says not_found for ids Planka cannot have, without asking it', async () => {
      const before = fake.requests.length;
      await rejection(adapter.getTask('abc'), 'not_found');
      assert.equal(fake.requests.length, before);
      const missing = await rejection(adapter.getTask('1912999999999999999'), 'not_found');
      assert.match(missing.message, /Card not found/);
    });

    it('reads a board created after the first poll', async () => {
      await adapter.getReadyTasks(['Dispatch.Tasks.Doing']);
      const late = fake.seed.boardWithLists({ project: 'Late', board: 'Board', lists: ['Todo'], members: [bot] });
      fake.seed.card(late.lists.Todo, 'new');
      assert.equal((await adapter.getReadyTasks(['Late.Board.Todo'])).length, 1);
    });
  });
}

describe('Planka permissions and errors', () => {
  let fake: FakePlanka;
  let viewer: UserRecord;
  let seeded: SeededBoard;
  before(async () => {
    fake = await startFakePlanka({ version: 2 });
    viewer = fake.seed.user({ username: 'viewer' });
    seeded = fake.seed.boardWithLists({ project: 'P', board: 'B', lists: ['Todo', 'Done'] });
    fake.seed.member(seeded.board, viewer, 'viewer');
  });
  after(() => fake?.close());

  const adapterFor = (user: UserRecord, extra: Partial<ConstructorParameters<typeof PlankaAdapter>[0]> = {}) =>
    new PlankaAdapter({ url: fake.url, credentials: { token: fake.tokenFor(user) }, log: silentLogger, retryDelayMs: 10, ...extra });

  it('a viewer may read but not edit: 403 explained', async () => {
    const card = fake.seed.card(seeded.lists.Todo, 'Look only');
    const adapter = adapterFor(viewer);
    try {
      assert.equal((await adapter.getTask(card.id)).name, 'Look only');
      const error = await rejection(adapter.updateTask(card.id, { name: 'Edited' }), 'auth');
      assert.match(error.message, /Not enough rights/);
      assert.match(error.message, /editor member of the board/);
    } finally {
      await adapter.close();
    }
  });

  it('a non-member gets not_found (Planka hides the card)', async () => {
    const stranger = fake.seed.user({ username: 'stranger' });
    const card = fake.seed.card(seeded.lists.Todo, 'Hidden');
    const adapter = adapterFor(stranger);
    try {
      const error = await rejection(adapter.getTask(card.id), 'not_found');
      assert.match(error.message, /not a member/);
      await rejection(adapter.getReadyTasks(['P.B.Todo']), 'not_found');
    } finally {
      await adapter.close();
    }
  });

  it('retries reads after a 5xx, never writes', async () => {
    const card = fake.seed.card(seeded.lists.Todo, 'Flaky');
    const adapter = adapterFor(fake.admin);
    try {
      await adapter.whoami();
      fake.requests.length = 0;
      fake.intercept({ method: 'GET', path: `/api/cards/${card.id}`, status: 503, body: 'busy', contentType: 'text/plain' });
      assert.equal((await adapter.getTask(card.id)).name, 'Flaky');
      assert.equal(fake.count('GET', new RegExp(`^/api/cards/${card.id}$`)), 2);
      fake.intercept({ method: 'POST', path: `/api/cards/${card.id}/comments`, status: 503, body: 'busy', contentType: 'text/plain' });
      await rejection(adapter.addComment(card.id, 'hello'), 'unavailable');
      assert.equal(fake.count('POST', /\/comments$/), 1);
    } finally {
      await adapter.close();
    }
  });

  it('times out a silent server', async () => {
    const adapter = adapterFor(fake.admin, { timeoutMs: 300, retries: 0 });
    try {
      await adapter.whoami();
      const undo = fake.intercept({ method: 'GET', path: /^\/api\/boards\//, delayMs: 2_000 });
      const error = await rejection(adapter.getReadyTasks(['P.B.Todo']), 'unavailable');
      undo();
      assert.match(error.message, /no answer within 300 ms/);
    } finally {
      await adapter.close();
    }
  });

  it('treats an HTML page as an error, never as data', async () => {
    const adapter = adapterFor(fake.admin);
    try {
      await adapter.getReadyTasks(['P.B.Todo']);
      fake.intercept({ method: 'GET', path: /^\/api\/boards\//, status: 200, body: '<!DOCTYPE html><html></html>', contentType: 'text/html; charset=utf-8' });
      const error = await rejection(adapter.getReadyTasks(['P.B.Todo']), 'bad_response');
      assert.match(error.message, /text\/html/);
    } finally {
      await adapter.close();
    }
  });

  it('says so when the URL is not a Planka server', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>some other app</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const adapter = new PlankaAdapter({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, credentials: { token: 'abcd' }, log: silentLogger });
    try {
      const error = await rejection(adapter.getReadyTasks(['P.B.Todo']), 'bad_response');
      assert.match(error.message, /does not answer like Planka/);
    } finally {
      await adapter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
