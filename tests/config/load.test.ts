import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { FIXTURES, tempDir, writeFile } from '../helpers.ts';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('config loading', () => {
  it("loads the reference's pyproject example unchanged, with the reference's defaults", () => {
    const config = loadConfig({ path: join(FIXTURES, 'boards/reference-pyproject.toml'), env: {} });
    assert.equal(config.pollIntervalMs, 30_000);
    assert.equal(config.maxConcurrentAgents, 3);
    assert.equal(config.apiHost, '127.0.0.1');
    assert.equal(config.apiPort, 8000);
    assert.equal(config.defaultAgentTimeoutMs, undefined);
    assert.equal(config.killGraceMs, 5000);
    assert.deepEqual(config.backend, { type: 'json', url: '/tmp/board.json' });
    assert.equal(config.routes.length, 1);
    const [route] = config.routes;
    assert.equal(route.queue, 'My Queue');
    assert.deepEqual(route.args, ['--task', '{task_id}', '--name', '{task_name}']);
    assert.equal(route.inProgressQueue, 'In Progress');
    assert.equal(route.maxAttempts, 1);
    assert.equal(route.agent, 'command');
  });

  it('finds ./dispatcher.toml, then pyproject.toml, and honours $DISPATCHER_CONFIG', () => {
    const dir = tempDir();
    writeFile(dir, 'pyproject.toml', '[project]\nname = "x"\n\n[tool.artificer-dispatcher]\npoll_interval = 7\n');
    assert.equal(loadConfig({ cwd: dir, env: {} }).pollIntervalMs, 7000);
    writeFile(dir, 'dispatcher.toml', 'poll_interval = 9\n');
    assert.equal(loadConfig({ cwd: dir, env: {} }).pollIntervalMs, 9000);
    const other = writeFile(dir, 'other.toml', 'poll_interval = 11\n');
    assert.equal(loadConfig({ cwd: dir, env: { DISPATCHER_CONFIG: other } }).pollIntervalMs, 11000);
    assert.equal(loadConfig({ cwd: dir, path: 'dispatcher.toml', env: { DISPATCHER_CONFIG: other } }).pollIntervalMs, 9000);
  });

  it('says how to start when there is no config', () => {
    const error = configError(() => loadConfig({ cwd: tempDir(), env: {} }));
    assert.match(error.message, /no configuration found/);
    assert.match(error.detail ?? '', /dispatcher init/);
  });

  it('loads .env beside the config; the environment wins', () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', '[backend]\ntype = "json"\nurl = "b.json"\n');
    writeFile(dir, '.env', 'PLANKA_TOKEN=from-file\nOTHER=1\n');
    assert.equal(loadConfig({ cwd: dir, env: {} }).env.PLANKA_TOKEN, 'from-file');
    assert.equal(loadConfig({ cwd: dir, env: { PLANKA_TOKEN: 'from-env' } }).env.PLANKA_TOKEN, 'from-env');
  });

  it('reports TOML syntax errors with line, column and a frame', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', 'poll_interval = 30\nmax_concurrent_agents = = 3\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.match(error.message, new RegExp(`^${file}:2:\\d+: invalid TOML`));
    assert.ok(error.detail && error.detail.includes('max_concurrent_agents'));
  });

  it('rejects unknown keys with the dotted path, the line and a suggestion', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', 'poll_interval = 30\n\n[routing."Todo"]\ncommand = "x"\ntimeuot = 5\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.equal(error.message, `${file}:5: routing.Todo.timeuot: unknown key (did you mean "timeout"?)`);
  });

  it('names wrong types and quotes queue names with dots', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', '[routing."Proj.Board.Todo"]\ncommand = "x"\ntimeout = "soon"\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.match(error.message, /:3: routing\."Proj\.Board\.Todo"\.timeout: .*number/);
  });

  it('names the agent kinds when a route asks for an unknown one', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', '[routing."Todo"]\ncommand = "x"\nagent = "gpt"\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.match(error.message, /:3: routing\.Todo\.agent: must be one of: "command", "claude", "codex"/);
  });

  it('gives claude and codex routes a time limit of an hour unless one is configured', () => {
    const dir = tempDir();
    const routes = '[routing."A"]\ncommand = "claude"\nagent = "claude"\n[routing."B"]\ncommand = "codex"\nagent = "codex"\ntimeout = 60\n[routing."C"]\ncommand = "make"\n';
    const timeouts = (text: string) => loadConfig({ path: writeFile(dir, 'dispatcher.toml', text), env: {} }).routes.map((route) => route.timeoutMs);
    assert.deepEqual(timeouts(routes), [3_600_000, 60_000, undefined], 'a plain command keeps having no limit');
    assert.deepEqual(timeouts(`default_agent_timeout = 600\n${routes}`), [undefined, 60_000, undefined], 'default_agent_timeout applies instead');
  });

  it('gives the MCP server only to claude and codex routes', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', '[routing."Todo"]\ncommand = "make"\nmcp = true\n');
    assert.match(configError(() => loadConfig({ path: file, env: {} })).message, /routing\."Todo"\.mcp: only claude and codex routes can be given the MCP server/);
    const ok = writeFile(dir, 'dispatcher.toml', '[routing."Todo"]\ncommand = "claude"\nagent = "claude"\nmcp = true\n');
    assert.equal(loadConfig({ path: ok, env: {} }).routes[0].mcp, true);
  });

  it('requires a backend type', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', '[backend]\nurl = "x.json"\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.match(error.message, /backend\.type: is required/);
  });

  it('reports every problem, the first as the message', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', 'poll_interval = "x"\nmax_concurrent_agents = 0\nbogus = 1\n');
    const error = configError(() => loadConfig({ path: file, env: {} }));
    assert.match(error.message, /poll_interval/);
    assert.match(error.detail ?? '', /max_concurrent_agents: max_concurrent_agents must be at least 1/);
    assert.match(error.detail ?? '', /bogus: unknown key/);
  });

  it('resolves state_dir and dispatch_file paths against the config folder', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'dispatcher.toml', 'state_dir = "state"\n[dispatch_file]\nrepos = ["o/r"]\n[dispatch_file.backend]\ntype = "gitea"\nurl = "http://x"\n');
    const config = loadConfig({ path: file, env: {} });
    assert.equal(config.stateDir, join(dir, 'state'));
    assert.equal(config.dispatchFile?.tasksDir, join(dir, '.agent-tasks'));
    assert.equal(config.dispatchFile?.ratePerMinute, 1);
    assert.equal(config.dispatchFile?.dashboardPort, 8098);
  });
});
