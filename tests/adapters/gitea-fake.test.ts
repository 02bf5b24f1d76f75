import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { readRecording, recordingsDir, type Recording } from '../../fixtures/gitea/recordings.ts';

/**
 * Replays the requests recorded from a real Gitea 1.15.11 against the fake, in an order that
 * rebuilds the recorded server's state, and compares status, headers and bodies (times and emails
 * aside). This is what keeps the fake's quirks honest.
 */
const dir = recordingsDir(join(import.meta.dirname, '..', '..'));

/** In the order the real server must have seen them (ids and later states depend on it). */
const SEQUENCE = [
  'iss1', 'iss2', 'iss3', 'iss4', 'get1', 'get404', 'cmt1', 'cmts', 'cmt404', 'cmt-empty', 'iss-notitle', 'iss-badassignee',
  'lbl-ids', 'lbl-del', 'lbl-list', 'edit-assign', 'edit-state', 'edit-badstate', 'lbl-names', 'lbl-del-unknown',
  'list-open', 'list-labels', 'list-assigned', 'owner404', 'repo404', 'repo-labels',
  'user', 'user-bearer', 'user-TOKENUC', 'user-bad', 'user-none', 'version',
];

const IGNORED_KEYS = new Set(['created_at', 'updated_at', 'closed_at', 'created', 'last_login', 'email']);
/** Comment ids on the recorded server count comments made by other recordings too. */
const IGNORED_PER_RECORDING: Record<string, string[]> = { cmt1: ['id', 'html_url'], cmts: ['id', 'html_url'] };

function compare(recorded: unknown, actual: unknown, path: string, ignore: Set<string>, problems: string[], host: (text: string) => string): void {
  if (recorded === null || typeof recorded !== 'object') {
    const expected = typeof recorded === 'string' ? host(recorded) : recorded;
    if (expected !== actual) problems.push(`${path}: recorded ${JSON.stringify(expected)}, fake ${JSON.stringify(actual)}`);
    return;
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(recorded) !== Array.isArray(actual)) {
    problems.push(`${path}: recorded ${Array.isArray(recorded) ? 'an array' : 'an object'}, fake ${JSON.stringify(actual)}`);
    return;
  }
  const left = recorded as Record<string, unknown>;
  const right = actual as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    const where = Array.isArray(recorded) ? `${path}[${key}]` : `${path}.${key}`;
    if (!(key in left)) problems.push(`${where}: only in the fake`);
    else if (!(key in right)) problems.push(`${where}: missing in the fake`);
    else if (!IGNORED_KEYS.has(key) && !ignore.has(key)) compare(left[key], right[key], where, ignore, problems, host);
  }
}

describe('fake Gitea against the recordings of Gitea 1.15.11', { skip: dir ? false : 'skipped: ../shared/fixtures/gitea/recorded-1.15.11 is absent' }, () => {
  let fake: FakeGitea;
  before(async () => {
    fake = await startFakeGitea({ token: 'replay-token-0123456789' });
    fake.addUser('alice');
    fake.addUser('bob');
    // bob could be assigned on the recorded server (edit-assign.txt): he had write access.
    fake.addRepo('dispatcher-admin/proj-a', { labels: ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'bug'], collaborators: ['bob'] });
    fake.addRepo('dispatcher-admin/proj-b');
  });
  after(() => fake?.close());

  async function replay(recording: Recording) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(recording.requestHeaders)) {
      headers[name] = value.replace('<wrong-token>', 'not-the-token').replace('<token>', fake.token);
    }
    const response = await request(`${fake.url}${recording.path}`, { method: recording.method as 'GET', headers, body: recording.requestBody });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  for (const name of SEQUENCE) {
    it(name, async () => {
      const recording = readRecording(dir!, name);
      const actual = await replay(recording);
      assert.equal(actual.status, recording.status, `${recording.method} ${recording.path}`);
      const host = (text: string) => text.replaceAll('http://127.0.0.1:3000', fake.url);
      for (const header of ['x-total-count', 'link', 'access-control-expose-headers']) {
        assert.equal(actual.headers[header], recording.responseHeaders[header] && host(recording.responseHeaders[header]), `header ${header}`);
      }
      assert.equal(actual.headers['content-type'] !== undefined, recording.responseHeaders['content-type'] !== undefined, 'content type present');
      const problems: string[] = [];
      compare(recording.responseBody, actual.body, '$', new Set(IGNORED_PER_RECORDING[name] ?? []), problems, host);
      assert.deepEqual(problems, []);
    });
  }

  it('caps limit at 50 and pages with Link and X-Total-Count', async () => {
    for (let n = 0; n < 60; n++) fake.addIssue('dispatcher-admin/proj-b', { title: `bulk ${n}` });
    const first = await replay({ ...readRecording(dir!, 'list-open'), path: '/api/v1/repos/dispatcher-admin/proj-b/issues?state=open&type=issues&limit=500&page=1' });
    assert.equal(first.body.length, 50);
    assert.equal(first.headers['x-total-count'], '61');
    assert.match(String(first.headers.link), /page=2&state=open&type=issues>; rel="next"/);
    const second = await replay({ ...readRecording(dir!, 'list-open'), path: '/api/v1/repos/dispatcher-admin/proj-b/issues?state=open&type=issues&limit=50&page=2' });
    assert.equal(second.body.length, 11);
    assert.ok(!String(second.headers.link).includes('rel="next"'));
    assert.match(String(second.headers.link), /rel="first".*rel="prev"/);
  });
});
