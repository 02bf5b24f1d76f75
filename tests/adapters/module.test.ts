import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTracker } from '../../adapters/registry.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { ROOT, tempDir, writeFile } from '../helpers.ts';
import { runConformance } from './conformance.ts';

const example = join(ROOT, 'examples/custom-adapter/folder-tracker.mjs');

runConformance('module (examples/custom-adapter)', async () => {
  const dir = tempDir();
  for (const queue of ['Todo', 'Doing', 'Done']) mkdirSync(join(dir, 'tasks', queue), { recursive: true });
  const adapter = await createTracker({ options: { type: 'module', path: example, url: 'tasks' }, baseDir: dir, env: {}, log: silentLogger });
  return { adapter, queues: ['Todo', 'Doing', 'Done'], missingId: '424242', labels: ['any'], missingQueue: 'Nope', close: async () => {} };
});

describe('module backends', () => {
  const load = (path: string | undefined, baseDir = tempDir()) => createTracker({ options: { type: 'module', path }, baseDir, env: {}, log: silentLogger });

  it('needs a path', async () => {
    await assert.rejects(load(undefined), (error: unknown) => error instanceof ConfigError && /needs `path`/.test(error.message));
  });
  it('says when the module cannot be loaded', async () => {
    await assert.rejects(load('missing.mjs'), (error: unknown) => error instanceof ConfigError && /cannot load adapter module .*missing\.mjs/.test(error.message));
  });
  it('says which methods an adapter lacks', async () => {
    const dir = tempDir();
    writeFile(dir, 'half.mjs', 'export default () => ({ getTask() {}, whoami() {} });');
    await assert.rejects(load('half.mjs', dir), /lacks getReadyTasks, moveTask, addComment, updateTask, createTask/);
  });
  it('needs a default export function', async () => {
    const dir = tempDir();
    writeFile(dir, 'none.mjs', 'export const x = 1;');
    await assert.rejects(load('none.mjs', dir), /must export a default function/);
  });
});
