import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { readJson, runCli, waitFor } from '../helpers.ts';
import { AGENTS, NODE, project, startDaemon, task } from './support.ts';

const DEFAULT_PORT = 8000;
const SELF_MOVER = `[routing."Todo"]\ncommand = ${NODE}\nargs = [${JSON.stringify(join(AGENTS, 'self-mover.mjs'))}, "Done"]\nin_progress_queue = "In Progress"\n`;

/** The project's config without any api_port: the default applies. */
function withoutApiPort(todo: ReturnType<typeof task>[]) {
  const p = project(todo, SELF_MOVER);
  writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('api_port = 0\n', ''));
  return p;
}

type Board = { queues: Record<string, Array<{ id: string }>> };
const queueOf = (board: Board, id: string) => Object.entries(board.queues).find(([, tasks]) => tasks.some((t) => t.id === id))?.[0];

/**
 * Port 8000 held for the whole file: by this test when it is free, else by whatever already has it
 * (taken either way, which is the case under test).
 */
let blocker: Server | undefined;
before(async () => {
  const server = createServer();
  blocker = await new Promise<Server | undefined>((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(DEFAULT_PORT, '127.0.0.1', () => resolve(server));
  });
});
after(() => blocker?.close());

const fallbackWarning = /WARN .*the default api_port 8000 on 127\.0\.0\.1 is in use by another program: the agent API \(and dashboard\) is on (http:\/\/127\.0\.0\.1:(\d+)) instead; set api_port/;

describe('the default api_port taken by another program', () => {
  it('poll-once (cron) serves the agent API on a free port with a warning, and the agent reaches it', async () => {
    const p = withoutApiPort([task('1')]);
    const result = await runCli(['poll-once', '--log-format', 'plain'], { cwd: p.dir, timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const warning = fallbackWarning.exec(result.stderr);
    assert.ok(warning, result.stderr);
    assert.notEqual(Number(warning[2]), DEFAULT_PORT);
    assert.equal(queueOf(readJson<Board>(p.board), '1'), 'Done', 'the agent moved its task through the API on the fallback port');
  });

  it('run does the same, and records the port it has so that `refresh` finds it', async () => {
    const p = withoutApiPort([]);
    const daemon = startDaemon(p.dir);
    try {
      await waitFor(() => /dispatcher running/.test(daemon.output()), 30_000, 'the daemon to start');
      const warning = fallbackWarning.exec(daemon.output());
      assert.ok(warning, daemon.output());
      assert.match(daemon.output(), new RegExp(`agent API on ${warning[1]}`));
      const refresh = await runCli(['refresh'], { cwd: p.dir });
      assert.equal(refresh.code, 0, refresh.stderr);
      assert.match(refresh.stdout, new RegExp(warning[1]));
    } finally {
      daemon.child.kill('SIGTERM');
    }
    assert.equal(await daemon.exited, 0, daemon.output());
  });

  it('an api_port the config names stays an error when it is taken (exit 2)', async () => {
    const p = project([task('1')], SELF_MOVER);
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('api_port = 0', `api_port = ${DEFAULT_PORT}`));
    const result = await runCli(['poll-once'], { cwd: p.dir, timeoutMs: 30_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /cannot serve the API on 127\.0\.0\.1:8000: the port is in use/);
    assert.equal(queueOf(readJson<Board>(p.board), '1'), 'Todo', 'nothing claimed');
  });
});
