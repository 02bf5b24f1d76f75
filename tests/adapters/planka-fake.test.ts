import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakePlanka, type FakePlanka } from '../../fixtures/planka/fake-planka.ts';
import { readRecording, readRecordingText, recordingsDir } from '../../fixtures/planka/recordings.ts';
import { Replayer } from '../../fixtures/planka/replay.ts';

/**
 * The fake Planka against the recordings of the real servers: every recorded exchange is replayed
 * in the order it was recorded (read from the timestamps in the answers), and the fake must answer
 * with the same status, the same keys in the same order, the same array lengths and the same values
 * (ids mapped one-to-one, timestamps and tokens aside).
 */
const skip = recordingsDir ? false : 'recorded Planka exchanges not found (../shared/fixtures/planka/recorded next to the repository)';

type Actor = 'admin' | 'bot' | 'bogus' | 'apiKeyAsBearer';
interface Step {
  file: string;
  /** Whose token a recorded `Authorization: Bearer <token>` stands for (default admin). */
  as?: Actor;
  /** The answer's `item` is a new token of this user. */
  tokenOf?: 'admin' | 'bot';
}

const v2Steps: Step[] = [
  { file: 'v2-01-login-terms-required' },
  { file: 'v2-02-terms' },
  { file: 'v2-03-accept-terms', tokenOf: 'admin' },
  { file: 'v2-04-login', tokenOf: 'admin' },
  { file: 'v2-05-users-me' },
  { file: 'v2-06-projects-empty' },
  { file: 'v2-07-create-project' },
  { file: 'v2-06b-projects' },
  { file: 'v2-08-create-board' },
  { file: 'v2-09-create-list-Backlog' },
  { file: 'v2-09-create-list-Review' },
  { file: 'v2-09-create-list-Done' },
  { file: 'v2-09-create-list-InProgress' },
  { file: 'v2-10-create-label' },
  { file: 'v2-10-create-label2' },
  { file: 'v2-11-board-show' },
  { file: 'v2-12a-create-card-no-type' },
  { file: 'v2-12b-create-card-no-position' },
  { file: 'v2-12c-create-card' },
  { file: 'v2-12d-create-card2' },
  { file: 'v2-13-card-show' },
  { file: 'v2-14-comment-create' },
  { file: 'v2-14b-comment-create2' },
  { file: 'v2-15-comments-index' },
  { file: 'v2-16-card-label-add' },
  { file: 'v2-16b-card-label-add-dup' },
  { file: 'v2-17-card-membership-add' },
  { file: 'v2-17b-card-membership-add-dup' },
  { file: 'v2-18-card-move-no-position' },
  { file: 'v2-18b-card-move' },
  { file: 'v2-19-card-update' },
  { file: 'v2-20-card-move-to-closed' },
  { file: 'v2-21-card-label-remove' },
  { file: 'v2-22-card-membership-remove' },
  { file: 'v2-23-card-move-to-archive' },
  { file: 'v2-24-list-cards-archive' },
  { file: 'v2-24b-list-cards-active' },
  { file: 'v2-25-card-actions' },
  { file: 'v2-40-create-api-key' },
  { file: 'v2-41-users-me-with-api-key' },
  { file: 'v2-42-comment-with-api-key' },
  { file: 'v2-43-logout-with-api-key' },
  { file: 'v2-44-api-key-as-bearer', as: 'apiKeyAsBearer' },
  { file: 'v2-50-create-user' },
  { file: 'v2-51-bot-login-terms' },
  { file: 'v2-52-bot-accept-terms', tokenOf: 'bot' },
  { file: 'v2-53-bot-card-not-member', as: 'bot' },
  { file: 'v2-53b-bot-projects-not-member', as: 'bot' },
  { file: 'v2-54-add-board-member' },
  { file: 'v2-55-bot-card-as-member', as: 'bot' },
  { file: 'v2-56-bot-projects', as: 'bot' },
  { file: 'v2-30-err-no-token' },
  { file: 'v2-31-err-bad-token', as: 'bogus' },
  { file: 'v2-32-err-card-not-found' },
  { file: 'v2-33-err-invalid-id' },
  { file: 'v2-34-err-bad-login' },
  { file: 'v2-35-err-unknown-route' },
  { file: 'v2-36-err-list-not-found' },
  { file: 'v2-26-card-update-empty-description' },
  { file: 'v2-26b-card-update-null-description' },
  { file: 'v2-27a-create-board2' },
  { file: 'v2-27b-create-list-board2' },
  { file: 'v2-27c-move-card-other-board-no-board' },
  { file: 'v2-27d-move-card-other-board' },
  { file: 'v2-06c-projects-with-boards' },
];

const v1Steps: Step[] = [
  { file: 'v1-00-config' },
  { file: 'v1-01-login', tokenOf: 'admin' },
  { file: 'v1-02-users-me' },
  { file: 'v1-03-create-project' },
  { file: 'v1-04-projects' },
  { file: 'v1-05-create-board' },
  { file: 'v1-04b-projects-with-boards' },
  { file: 'v1-06-create-list-Backlog' },
  { file: 'v1-06-create-list-InProgress' },
  { file: 'v1-06-create-list-Done' },
  { file: 'v1-07-create-label' },
  { file: 'v1-08-board-show' },
  { file: 'v1-09-create-card-no-position' },
  { file: 'v1-09b-create-card' },
  { file: 'v1-10-card-show' },
  { file: 'v1-11-comment-create' },
  { file: 'v1-12-card-actions-comments' },
  { file: 'v1-12b-card-actions-details' },
  { file: 'v1-13-card-label-add' },
  { file: 'v1-13b-card-label-add-dup' },
  { file: 'v1-14-card-membership-add' },
  { file: 'v1-15-card-move-no-position' },
  { file: 'v1-15b-card-move' },
  { file: 'v1-16-card-update' },
  { file: 'v1-17-card-label-remove' },
  { file: 'v1-18-card-membership-remove' },
  { file: 'v1-08b-board-show-with-card' },
  { file: 'v1-19-card-members-after' },
  { file: 'v1-20-err-no-token' },
  { file: 'v1-21-err-not-found' },
  { file: 'v1-22-err-invalid-id' },
  { file: 'v1-23-err-bad-login' },
];

function replayAll(version: 1 | 2, steps: Step[]): void {
  describe(`fake Planka ${version}.x replays the recordings`, { skip }, () => {
    let fake: FakePlanka;
    let replayer: Replayer;
    const tokens: Partial<Record<Actor, string>> = { bogus: 'not-a-valid-token' };
    before(async () => {
      fake = await startFakePlanka({ version, unknownGet: 'error' });
      replayer = new Replayer(fake.url);
    });
    after(() => fake?.close());

    for (const step of steps) {
      it(step.file, async () => {
        const recording = readRecording(step.file);
        assert.ok(recording, `${step.file} is a request/response pair`);
        const actor = step.as ?? 'admin';
        const bearer = actor === 'apiKeyAsBearer' ? replayer.mapping.get('<apikey>') : tokens[actor];
        const result = await replayer.replay(recording, bearer);
        if (step.tokenOf) tokens[step.tokenOf] = (result.json as { item: string }).item;
        assert.deepEqual(result.differences, [], `${step.file} differs from the recording`);
      });
    }
  });
}

replayAll(2, v2Steps);
replayAll(1, v1Steps);

describe('fake Planka quirks recorded as notes', { skip }, () => {
  it('v2 bootstrap answers like v2-00', async () => {
    const fake = await startFakePlanka({ version: 2 });
    try {
      const recorded = JSON.parse(readRecordingText('v2-00-bootstrap').slice(readRecordingText('v2-00-bootstrap').indexOf('{')));
      const response = await fetch(`${fake.url}/api/bootstrap`);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await response.json(), recorded);
    } finally {
      await fake.close();
    }
  });

  it('v1 answers unknown GET routes with its HTML page and unknown POSTs with 404 (v1-26)', async () => {
    assert.match(readRecordingText('v1-26-unknown-route-spa-fallback'), /SPA index placeholder/);
    const fake = await startFakePlanka({ version: 1 });
    try {
      const headers = { authorization: `Bearer ${fake.tokenFor(fake.admin)}` };
      for (const path of ['/api/cards/1912933831132840971/comments', '/api/bootstrap', '/anything']) {
        const response = await fetch(fake.url + path, { headers });
        assert.equal(response.status, 200, path);
        assert.match(response.headers.get('content-type') ?? '', /text\/html/, path);
        assert.equal(await response.text(), '<!DOCTYPE html><html><body>SPA index placeholder</body></html>');
      }
      const post = await fetch(`${fake.url}/api/cards/1912933831132840971/comments`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"text":"x"}',
      });
      assert.equal(post.status, 404);
      assert.deepEqual(await post.json(), { code: 'E_NOT_FOUND' });
    } finally {
      await fake.close();
    }
  });

  it('v2 answers unknown GET routes with HTML by default, 500 text without the web client (v2-35)', async () => {
    const withClient = await startFakePlanka({ version: 2 });
    const withoutClient = await startFakePlanka({ version: 2, unknownGet: 'error' });
    try {
      const html = await fetch(`${withClient.url}/api/nonexistent`);
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-type') ?? '', /text\/html/);
      const error = await fetch(`${withoutClient.url}/api/nonexistent`);
      assert.equal(error.status, 500);
      assert.equal(await error.text(), 'Internal Server Error');
    } finally {
      await withClient.close();
      await withoutClient.close();
    }
  });

  it('v2 tokens issued with withHttpOnlyToken need the cookie too (v2-45)', async () => {
    assert.match(readRecordingText('v2-45-httponly-token-flow'), /withHttpOnlyToken/);
    const fake = await startFakePlanka({ version: 2, adminAcceptedTerms: true });
    try {
      const login = await fetch(`${fake.url}/api/access-tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ emailOrUsername: 'admin@example.com', password: fake.admin.password, withHttpOnlyToken: true }),
      });
      assert.equal(login.status, 200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      assert.match(cookie, /^httpOnlyToken=[0-9a-f-]{36}$/);
      const token = ((await login.json()) as { item: string }).item;
      const me = (headers: Record<string, string>) => fetch(`${fake.url}/api/users/me`, { headers });
      assert.equal((await me({ authorization: `Bearer ${token}` })).status, 401);
      assert.equal((await me({ authorization: `Bearer ${token}`, cookie })).status, 200);
      const logout = await fetch(`${fake.url}/api/access-tokens/me`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, cookie } });
      assert.equal(logout.status, 200);
      assert.deepEqual(await logout.json(), { item: token });
      assert.match(logout.headers.get('set-cookie') ?? '', /httpOnlyToken=;.*1970/);
      assert.equal((await me({ authorization: `Bearer ${token}`, cookie })).status, 401);
    } finally {
      await fake.close();
    }
  });

  it('v1 ignores X-Api-Key', async () => {
    const fake = await startFakePlanka({ version: 1 });
    try {
      const response = await fetch(`${fake.url}/api/users/me`, { headers: { 'x-api-key': 'abcdefgh_something' } });
      assert.equal(response.status, 401);
    } finally {
      await fake.close();
    }
  });
});
