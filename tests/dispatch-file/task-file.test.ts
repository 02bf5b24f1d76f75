import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { relative, resolve, sep } from 'node:path';
import type { Task } from '../../adapters/types.ts';
import { registerSecret } from '../../src/util/redact.ts';
import { issueParts, renderTaskFile, safeSegment, taskFileName, taskFilePath } from '../../src/core/dispatch-file/task-file.ts';

const tasksDir = resolve('/srv/agents/.agent-tasks');

const isInside = (path: string) => {
  const inside = relative(tasksDir, path);
  return !inside.startsWith('..') && inside.split(sep).length === 2;
};

describe('safe path names', () => {
  const attempts = ['../../etc', '..', '.', '...', 'a/b', 'a\\b', '/etc/passwd', '.ssh', 'x/../../y', '%2E%2E', 'hans\u0000', ' ', 'x'.repeat(400), 'über', 'a+b'];

  it('keeps every hostile login inside tasksDir, one folder deep', () => {
    for (const login of attempts) {
      const path = taskFilePath(tasksDir, login, 'issue-1.md');
      assert.ok(path, `a path for ${JSON.stringify(login)}`);
      assert.ok(isInside(path), `${JSON.stringify(login)} → ${path}`);
    }
  });

  it('never yields ".", ".." or a hidden folder, and keeps plain logins as they are', () => {
    for (const login of attempts) {
      const segment = safeSegment(login)!;
      assert.ok(!segment.startsWith('.'), `${JSON.stringify(login)} → ${segment}`);
      assert.ok(!segment.includes('/') && !segment.includes('\\') && !segment.includes('\u0000'));
      assert.ok(segment.length <= 100);
    }
    assert.equal(safeSegment('hans'), 'hans');
    assert.equal(safeSegment('greta.m_2-x'), 'greta.m_2-x');
  });

  it('gives different names different folders', () => {
    const names = ['a/b', 'a%2Fb', 'a_b', '..', '%2E.', '.hidden', '%2Ehidden', 'a+b'];
    const segments = names.map((name) => safeSegment(name));
    assert.equal(new Set(segments).size, names.length, segments.join(' '));
  });

  it('refuses an empty login', () => {
    assert.equal(safeSegment(''), undefined);
    assert.equal(taskFilePath(tasksDir, '', 'issue-1.md'), undefined);
  });
});

describe('task file names', () => {
  it('uses issue-N.md for one repository and carries the repository for several', () => {
    assert.equal(taskFileName({ id: 'acme/app#2', queue: 'acme/app' }, false), 'issue-2.md');
    assert.equal(taskFileName({ id: 'acme/app#2', queue: 'acme/app' }, true), 'acme+app-issue-2.md');
  });

  it('never lets two repositories collide, even with dashes in their names', () => {
    const a = taskFileName({ id: 'a-b/c#2', queue: 'a-b/c' }, true);
    const b = taskFileName({ id: 'a/b-c#2', queue: 'a/b-c' }, true);
    assert.notEqual(a, b);
    assert.notEqual(taskFileName({ id: 'acme/app#2', queue: '' }, true), taskFileName({ id: 'acme/web#2', queue: '' }, true));
  });

  it('makes repository names safe too', () => {
    const name = taskFileName({ id: 'x/..#3', queue: 'x/..' }, true);
    assert.ok(!name.includes('/'));
    assert.ok(isInside(taskFilePath(tasksDir, 'hans', name)!));
    assert.deepEqual(issueParts({ id: 'acme/app#12', queue: '' }), { repository: 'acme/app', number: '12' });
  });
});

describe('renderTaskFile', () => {
  const task: Task = {
    id: 'acme/app#2',
    name: 'CRITICAL: silent DB errors',
    description: 'The writer swallows errors.\n\nSee logs.',
    queue: 'acme/app',
    labels: ['bug', 'critical'],
    assignees: ['hans', 'greta'],
    comments: Array.from({ length: 5 }, (_, index) => ({ author: 'johan', text: `comment ${index + 1}`, createdAt: `2026-04-0${index + 1}T10:00:00Z` })),
    url: 'https://git.example.com/acme/app/issues/2',
    createdAt: '2026-04-01T09:00:00Z',
    updatedAt: '2026-04-05T10:00:00Z',
    author: 'johan',
  };

  it('carries every field an agent needs and how to report back', () => {
    const text = renderTaskFile({ task, priority: 'CRITICAL', assignee: 'hans', commentsLimit: 3, dispatchedAt: new Date('2026-04-09T14:32:15Z') });
    for (const expected of [
      '# Issue #2: CRITICAL: silent DB errors',
      '**Priority:** CRITICAL',
      '**Repository:** acme/app',
      '**Number:** 2',
      '**Link:** https://git.example.com/acme/app/issues/2',
      '**Labels:** bug, critical',
      '**Author:** johan',
      '**Created:** 2026-04-01T09:00:00Z',
      '**Updated:** 2026-04-05T10:00:00Z',
      '**Assignees:** hans, greta',
      'The writer swallows errors.\n\nSee logs.',
      '## Comments (latest 3 of 5)',
      'dispatcher task comment acme/app#2 "',
      'dispatcher task move acme/app#2 acme/app:closed',
    ]) {
      assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)}`);
    }
    assert.ok(!text.includes('comment 2\n') && text.includes('comment 3') && text.includes('comment 5'), 'only the latest three comments');
  });

  it('never writes a registered secret', () => {
    const secret = 'gitea-secret-token-1234567890';
    registerSecret(secret);
    const text = renderTaskFile({ task: { ...task, description: `oops: ${secret}` }, priority: 'NORMAL', assignee: 'hans', commentsLimit: 10, dispatchedAt: new Date() });
    assert.ok(!text.includes(secret));
    assert.ok(text.includes('[redacted]'));
  });

  it('quotes ids that are not plain words in the report-back commands', () => {
    const text = renderTaskFile({ task: { ...task, id: "it's 1", queue: 'Todo' }, priority: 'NORMAL', assignee: 'hans', commentsLimit: 0, dispatchedAt: new Date() });
    assert.ok(text.includes(`dispatcher task comment 'it'\\''s 1'`), text);
    assert.ok(text.includes('(5 not shown)'));
  });
});
