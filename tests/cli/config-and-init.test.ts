import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, writeFile } from '../helpers.ts';
import { loadConfig } from '../../src/config/load.ts';
import { AGENTS } from './support.ts';

describe('dispatcher config check', () => {
  it('prints the effective config with secrets redacted and says where each route command is', async () => {
    const dir = tempDir();
    writeFile(dir, '.env', 'GITEA_TOKEN=supersecret-gitea-token\n');
    const fakeClaude = writeFile(dir, 'claude', '#!/bin/sh\necho "2.0.14 (Claude Code)"\n');
    chmodSync(fakeClaude, 0o755);
    writeFile(dir, 'dispatcher.toml', `[backend]\ntype = "gitea"\nurl = "https://gitea.example.com"\n\n[routing."o/r:ready"]\ncommand = "./claude"\nagent = "claude"\n\n[routing."o/r:other"]\ncommand = "no-such-agent-cmd"\n`);
    const result = await runCli(['config', 'check', '--json'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes('supersecret-gitea-token'));
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.config.backend.credentials, { GITEA_TOKEN: '[redacted]' });
    assert.equal(report.commands[0].version, '2.0.14 (Claude Code)');
    assert.equal(report.commands[1].path, undefined);
    const human = await runCli(['config', 'check'], { cwd: dir });
    assert.match(human.stdout, /"o\/r:other" → no-such-agent-cmd {2}\(NOT FOUND on PATH; no time limit\)/);
    assert.match(human.stdout, /^credentials: GITEA_TOKEN set$/m, 'plain config check says which credential variables are set');
    assert.ok(!human.stdout.includes('supersecret-gitea-token'));
    assert.match(human.stdout, /"o\/r:ready" → \.\/claude {2}\(2\.0\.14 \(Claude Code\), .*; time limit 1h 0m 0s\)/, 'claude routes get an hour by default');
  });

  it('warns about claude and codex routes that cannot work unattended, and says what to add', async () => {
    const dir = tempDir();
    writeFile(
      dir,
      'dispatcher.toml',
      [
        '[routing."A"]\ncommand = "claude"\nagent = "claude"\nargs = ["-p", "go"]',
        '[routing."B"]\ncommand = "claude"\nagent = "claude"\nargs = ["go", "--allowedTools", "Bash"]',
        '[routing."C"]\ncommand = "codex"\nagent = "codex"\nargs = ["exec", "go"]',
        '[routing."D"]\ncommand = "codex"\nagent = "codex"\nargs = ["exec", "--skip-git-repo-check", "-s", "workspace-write", "-c", "sandbox_workspace_write.network_access=true", "go"]',
        '[routing."E"]\ncommand = "claude"\nagent = "claude"\nargs = ["-p", "go", "--dangerously-skip-permissions"]\nenv = { IS_SANDBOX = "1" }',
        '[routing."F"]\ncommand = "claude"\nagent = "claude"\nargs = ["-p", "go"]\nmcp = true',
      ].join('\n'),
    );
    const result = await runCli(['config', 'check', '--json'], { cwd: dir });
    assert.equal(result.code, 0, 'warnings do not fail the check');
    const warnings: string[] = JSON.parse(result.stdout).warnings;
    const of = (queue: string) => warnings.filter((warning) => warning.startsWith(`routing."${queue}": `));
    assert.match(of('A').join('\n'), /no tools allowed: Claude denies every tool call.*--allowedTools "Bash\(dispatcher task:\*\)"/);
    assert.match(of('B').join('\n'), /no -p: Claude starts its interactive UI/);
    assert.equal(of('B').length, 1);
    assert.equal(of('C').length, 2);
    assert.match(of('C').join('\n'), /no --skip-git-repo-check/);
    assert.match(of('C').join('\n'), /sandbox blocks loopback.*sandbox_workspace_write\.network_access=true/);
    assert.deepEqual(of('D'), []);
    assert.deepEqual(of('E'), [], 'IS_SANDBOX=1 lets a bypass through, even as root');
    assert.deepEqual(of('F'), [], 'with mcp = true the task tools are allowed');
    const human = await runCli(['config', 'check'], { cwd: dir });
    assert.match(human.stdout, /\nwarning: routing\."A": no tools allowed/);
  });

  it('fails with exit 2 and the reason on a bad config', async () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', 'max_concurrent_agents = 0\n');
    const result = await runCli(['config', 'check'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /max_concurrent_agents: max_concurrent_agents must be at least 1/);
  });
});

describe('config check refuses what run refuses, in one line with exit 2', () => {
  const board = '[backend]\ntype = "json"\nurl = "board.json"\n';
  async function refused(config: string, message: RegExp, commands: string[][] = [['config', 'check']], setup?: (dir: string) => void) {
    const dir = tempDir();
    writeFile(dir, 'board.json', '{"queues": {"Todo": []}}');
    writeFile(dir, 'dispatcher.toml', config);
    setup?.(dir);
    for (const args of commands) {
      const result = await runCli([...args, '--log-format', 'plain'], { cwd: dir, timeoutMs: 20_000 });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.doesNotMatch(result.stderr, /\n\s+at |unexpected error/, `${args.join(' ')}: no stack trace`);
    }
  }

  it('state_dir pointing at a file: config check, status, poll-once, run and dispatch-file', () =>
    refused(`state_dir = "state"\napi_port = 0\n${board}\n[dispatch_file]\nrepos = ["o/r"]\n`, /state_dir: .*state is a file, not a folder/, [['config', 'check'], ['status'], ['poll-once'], ['run'], ['dispatch-file', '--once']], (dir) => writeFile(dir, 'state', 'not a folder')));
  it('state_dir under a file', () => refused(`state_dir = "state/inner"\n${board}`, /state_dir: .*state \(on the way to .*inner\) is a file/, [['config', 'check'], ['status']], (dir) => writeFile(dir, 'state', 'x')));
  it('an open API on a network address', () => refused(`api_host = "0.0.0.0"\n${board}\n[api]\nauth = "none"\n`, /dispatcher\.toml:1: api_host: api_host = "0\.0\.0\.0" with \[api\] auth = "none" would let anyone/, [['config', 'check'], ['run']]));
  it('an open dashboard on a network address', () =>
    refused(`${board}\n[api]\nauth = "none"\n\n[dispatch_file]\nrepos = ["o/r"]\ndashboard_host = "0.0.0.0"\n`, /dispatch_file\.dashboard_host: dashboard_host = "0\.0\.0\.0" with \[api\] auth = "none"/));
  for (const [key, value, table] of [
    ['poll_interval', '1e7', ''],
    ['poll_interval', '1e308', ''],
    ['poll_interval', 'inf', ''],
    ['kill_grace', '1e9', ''],
    ['default_agent_timeout', '3e6', ''],
    ['interval', '1e10', '[dispatch_file]\nrepos = ["o/r"]\n'],
    ['timeout', '1e12', '[routing.Todo]\ncommand = "echo"\n'],
    ['request_timeout', '1e8', '[backend]\ntype = "json"\nurl = "board.json"\n'],
    ['hook_timeout', '1e9', '[workspace]\n'],
  ]) {
    it(`a duration too long for a timer: ${key} = ${value}`, () =>
      refused(table.startsWith('[backend]') ? `${table}${key} = ${value}\n` : `${table ? board : ''}${table}${key} = ${value}\n${table ? '' : board}`, new RegExp(`${key}: ${key} must be at most 2073600 seconds \\(24 days\\)`)));
  }
  it('run --drain beyond a timer\'s reach', async () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', 'api_port = 0\n[backend]\ntype = "json"\nurl = "board.json"\n');
    for (const drain of ['1e99', 'soon', '-1']) {
      const result = await runCli(['run', '--drain', drain], { cwd: dir });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--drain must be a number of seconds from 0 to 2073600/);
    }
  });
  it('an unknown template variable in a workspace branch', () =>
    refused(`${board}\n[workspace.git]\nrepo = "."\nbranch = "agent/{task}"\n`, /workspace\.git\.branch: unknown template variable \{task\} \(did you mean \{queue\}\?\)|workspace\.git\.branch: unknown template variable \{task\}/));
  it('an unknown template variable in args, env or cwd, with did you mean', () =>
    refused(
      `${board}\n[routing.Todo]\ncommand = "echo"\nargs = ["--id", "{task_idx}"]\ncwd = "/tmp/{qeue}"\n\n[routing.Todo.env]\nNAME = "{task_nam}"\nOTHER = "{zzzzzzzzzz}"\n`,
      /dispatcher\.toml:7: routing\.Todo\.args\.1: unknown template variable \{task_idx\} \(did you mean \{task_id\}\?\)\n.*dispatcher\.toml:8: routing\.Todo\.cwd: unknown template variable \{qeue\} \(did you mean \{queue\}\?\)\n.*dispatcher\.toml:11: routing\.Todo\.env\.NAME: unknown template variable \{task_nam\} \(did you mean \{task_name\}\?\)\n.*routing\.Todo\.env\.OTHER: unknown template variable \{zzzzzzzzzz\} \(known: \{task_id\}, \{task_name\}, \{task_url\}, \{queue\}, \{run_id\}\)/,
      [['config', 'check'], ['poll-once']],
    ));
});

describe('dispatcher init', () => {
  it('writes a config and a board that work together, and never overwrites', async () => {
    const dir = tempDir();
    const first = await runCli(['init'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(join(dir, 'dispatcher.toml')) && existsSync(join(dir, 'board.json')));
    const created = await runCli(['task', 'create', 'Todo', 'First task', '--json'], { cwd: dir });
    assert.equal(JSON.parse(created.stdout).queue, 'Todo');
    const before = readFileSync(join(dir, 'board.json'), 'utf8');
    const again = await runCli(['init'], { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /dispatcher\.toml already exists here; init never overwrites/);
    assert.equal(readFileSync(join(dir, 'board.json'), 'utf8'), before);
    const check = await runCli(['config', 'check'], { cwd: dir });
    assert.equal(check.code, 0, check.stderr);
  });

  for (const agent of ['claude', 'codex']) {
    it(`--agent ${agent} writes a route that config check has nothing to say about, and that runs`, async () => {
      const dir = tempDir();
      const init = await runCli(['init', '--agent', agent], { cwd: dir });
      assert.equal(init.code, 0, init.stderr);
      const check = await runCli(['config', 'check', '--json'], { cwd: dir });
      const report = JSON.parse(check.stdout);
      assert.deepEqual(report.warnings, []);
      assert.equal(report.config.routes[0].agent, agent);
      assert.equal(report.config.routes[0].timeoutMs, 3_600_000);

      // A stand-in of the agent on PATH reports the way the real one runs commands.
      const bin = join(tempDir(), 'bin');
      mkdirSync(bin);
      chmodSync(writeFile(bin, agent, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(AGENTS, 'agent-standin.mjs'))} ${agent} "$@"\n`), 0o755);
      writeFileSync(join(dir, 'dispatcher.toml'), readFileSync(join(dir, 'dispatcher.toml'), 'utf8').replace('# api_port = 8000', 'api_port = 0'));
      assert.equal((await runCli(['task', 'create', 'Todo', 'Say hello'], { cwd: dir })).code, 0);
      const run = await runCli(['poll-once'], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const board = JSON.parse(readFileSync(join(dir, 'board.json'), 'utf8'));
      const [task] = board.queues.Done;
      assert.equal(task.comments[0].text, `hello from ${agent}`);
      assert.match(task.comments[1].text, /^✅ Agent finished \(exit 0\)/);
      assert.match(task.comments[1].text, new RegExp(`cd '?${dir}/work/1'? && ${agent} `), 'the hint cds into the route\'s folder');
    });
  }
  for (const agent of ['command', 'codex']) it(`offers a commented [workspace] block that is a valid config once uncommented (--agent ${agent})`, async () => {
    const dir = tempDir();
    assert.equal((await runCli(['init', '--agent', agent], { cwd: dir })).code, 0);
    const text = readFileSync(join(dir, 'dispatcher.toml'), 'utf8');
    assert.match(text, /^# \[workspace\]$/m);
    const enabled = text.replace(/^# (\[workspace\]$|(?:root|git|after_create|before_run|after_run|hook_timeout|remove_when_in) = )/gm, '$1');
    writeFileSync(join(dir, 'dispatcher.toml'), enabled);
    const config = loadConfig({ path: join(dir, 'dispatcher.toml'), env: {} });
    assert.equal(config.routes[0].workspace?.root, join(dir, 'workspaces'));
    assert.deepEqual(config.routes[0].workspace?.hooks.after_create, ['npm', 'ci']);
    assert.deepEqual(config.routes[0].workspace?.removeWhenIn, ['Done']);
  });
});
