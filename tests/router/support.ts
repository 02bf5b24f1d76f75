import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import createJsonTracker from '../../adapters/json/index.ts';
import { normaliseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { Config } from '../../src/config/types.ts';
import { FileLedger } from '../../src/core/runs/ledger.ts';
import { createRouter, type RouterOptions } from '../../src/core/dispatch/router.ts';
import { silentLogger } from '../../src/log.ts';
import * as v from 'valibot';
import { tempDir } from '../helpers.ts';

export const AGENTS = join(import.meta.dirname, '../../fixtures/agents');

export interface BoardSetup {
  dir: string;
  boardPath: string;
  config: Config;
  tracker: ReturnType<typeof createJsonTracker>;
  ledger: FileLedger;
  router: ReturnType<typeof createRouter>;
}

/** A temp folder with a board and a config built from `raw` (the TOML keys, as an object). */
export function setupBoard(queues: Record<string, Array<Record<string, unknown>>>, raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, routerOptions: Partial<RouterOptions> = {}): BoardSetup {
  const dir = tempDir();
  const boardPath = join(dir, 'board.json');
  writeFileSync(boardPath, JSON.stringify({ queues }, null, 2));
  const parsed = v.parse(configSchema, { backend: { type: 'json', url: 'board.json' }, kill_grace: 1, ...raw });
  const config = normaliseConfig(parsed, { file: join(dir, 'dispatcher.toml'), baseDir: dir, env: {} });
  const tracker = createJsonTracker({ options: config.backend!, baseDir: dir, env: {}, log: silentLogger });
  const ledger = new FileLedger(config.stateDir);
  const router = createRouter({ config, tracker, ledger, log: silentLogger, baseEnv: env, ...routerOptions });
  return { dir, boardPath, config, tracker, ledger, router };
}

export function task(id: string, name = `task ${id}`, extra: Record<string, unknown> = {}) {
  return { id, name, description: '', labels: [], assignees: [], comments: [], tasks: [], ...extra };
}

export const node = process.execPath;
