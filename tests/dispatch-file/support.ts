import { afterEach, beforeEach } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as v from 'valibot';
import type { Config, DispatchFileConfig } from '../../src/config/types.ts';
import { configSchema } from '../../src/config/schema.ts';
import { normaliseConfig } from '../../src/config/load.ts';
import { startFakeGitea, type FakeGitea } from '../../fixtures/gitea/fake-gitea.ts';
import { dispatchFile, type DispatchFileOptions, type DispatchFileSummary } from '../../src/commands/dispatch-file.ts';
import { silentLogger } from '../../src/log.ts';

/** Config objects for dispatch-file tests, built directly (no file, no loader). */

export const PRIORITY = {
  CRITICAL: ['critical', 'p0', 'priority/critical'],
  HIGH: ['high', 'p1', 'priority/high'],
  NORMAL: ['normal', 'p2', 'priority/normal'],
  LOW: ['low', 'p3', 'priority/low'],
};

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'dispatch-file-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A config as the loader would build it from a small dispatch_file table, then overridden. */
export function makeConfig(dir: string, fake: FakeGitea, overrides: Partial<DispatchFileConfig> = {}): Config {
  const raw = v.parse(configSchema, {
    state_dir: 'state',
    dispatch_file: { repos: ['acme/app'], tasks_dir: 'tasks', log_file: 'dispatcher.log', rate_limit: 1000, backend: { type: 'gitea', url: fake.url } },
  });
  const config = normaliseConfig(raw, { baseDir: dir, env: { GITEA_TOKEN: fake.token } });
  config.dispatchFile = { ...config.dispatchFile!, ...overrides };
  return config;
}

/** A stream that keeps what is written. */
export function captureStream(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/** One `dispatch-file --once` (or as told), console captured. */
export async function runOnce(config: Config, extra: Partial<DispatchFileOptions> = {}): Promise<DispatchFileSummary & { output: string }> {
  const stdout = captureStream();
  const summary = await dispatchFile({ config, log: silentLogger, once: true, dryRun: false, signal: new AbortController().signal, stdout, stderr: stdout, ...extra });
  return { ...summary, output: stdout.text() };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2026-04-09T12:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** For each test of a file: a fresh fake Gitea with the repository acme/app, and a temp folder. */
export function giteaAndFolderPerTest(): { readonly fake: FakeGitea; readonly dir: { path: string; remove: () => Promise<void> } } {
  let fake: FakeGitea;
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    fake = await startFakeGitea();
    dir = await tempDir();
    fake.addRepo('acme/app');
  });
  afterEach(async () => {
    await fake.close();
    await dir.remove();
  });
  return {
    get fake() {
      return fake;
    },
    get dir() {
      return dir;
    },
  };
}
