import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, tempDir } from '../helpers.ts';
import { startHarness, type Harness } from './harness.ts';

/**
 * `dispatcher task ...` inside an agent: no config file, only the environment the router gives the
 * agent. Runs src/cli.ts's main() through tsx (the current source, no build needed), and the built
 * launcher bin/dispatcher.js once when dist/ exists (`npm test` builds it first).
 */
const built = existsSync(join(ROOT, 'dist', 'cli.js'));

function dispatcher(args: string[], env: Record<string, string>, input = '', viaBin = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DISPATCHER_')));
  const entry = `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli.ts')).href)}); await main(['node', 'dispatcher', ...process.argv.slice(1)]);`;
  const argv = viaBin
    ? [CLI, ...args]
    : ['--import', pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, '--input-type=module', '-e', entry, '--', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: tempDir('dispatcher-agent-cwd-'), env: { ...clean, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('dispatcher task ... through the API', () => {
  let h: Harness;
  let agentEnv: Record<string, string>;
  const board = () => JSON.parse(readFileSync(h.board, 'utf8')).queues;
  before(async () => {
    h = await startHarness();
    agentEnv = { DISPATCHER_API_URL: h.url, DISPATCHER_TOKEN: h.startRun('1'), DISPATCHER_TASK_ID: '1' };
  });
  after(() => h.close());

  it('shows, comments on, updates and moves its own task, and creates tasks', async () => {
    const shown = await dispatcher(['task', 'show', '--json'], agentEnv);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).id, '1');

    const commented = await dispatcher(['task', 'comment', '1', 'Found the cause'], agentEnv);
    assert.equal(commented.code, 0, commented.stderr);
    const piped = await dispatcher(['task', 'comment', '1', '-'], agentEnv, 'multi\nline report\n');
    assert.equal(piped.code, 0, piped.stderr);
    const comments = board().Todo.find((task: { id: string }) => task.id === '1').comments.map((c: { text: string }) => c.text);
    assert.deepEqual(comments.slice(-2), ['Found the cause', 'multi\nline report']);

    const updated = await dispatcher(['task', 'update', '1', '--label', 'bug', '--json'], agentEnv);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(JSON.parse(updated.stdout).labels, ['bug']);

    const created = await dispatcher(['task', 'create', 'Todo', 'Follow-up', '--json'], agentEnv);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).queue, 'Todo');

    const moved = await dispatcher(['task', 'move', '1', 'Done'], agentEnv);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /moved 1 to Done/);
    assert.ok(board().Done.some((task: { id: string }) => task.id === '1'));
  });

  it('is refused another task (exit 1) without printing the token', async () => {
    const result = await dispatcher(['task', 'show', '2'], agentEnv);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /task "1" only/);
    assert.ok(!result.stderr.includes(agentEnv.DISPATCHER_TOKEN));
  });

  it('says not found (exit 4) for an unknown task, with the operator token', async () => {
    const result = await dispatcher(['task', 'show', '999'], { DISPATCHER_API_URL: h.url, DISPATCHER_OPERATOR_TOKEN: h.operatorToken });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /no task with id "999"/);
  });

  it('works through the built launcher bin/dispatcher.js', { skip: !built && 'dist/ is not built (npm run build)' }, async () => {
    const shown = await dispatcher(['task', 'show', '--json'], agentEnv, '', true);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).id, '1');
  });

  it('says unavailable (exit 3) when no dispatcher answers within DISPATCHER_API_RETRY_MS', async () => {
    const result = await dispatcher(['task', 'show', '1'], { DISPATCHER_API_URL: 'http://127.0.0.1:9', DISPATCHER_TOKEN: 'dsp_x', DISPATCHER_API_RETRY_MS: '200' });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /cannot reach the dispatcher API/);
  });
});
