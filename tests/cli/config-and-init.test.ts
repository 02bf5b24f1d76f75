import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, writeFile } from '../helpers.ts';

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
    assert.match(human.stdout, /"o\/r:other" → no-such-agent-cmd {2}\(NOT FOUND on PATH\)/);
  });

  it('fails with exit 2 and the reason on a bad config', async () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', 'max_concurrent_agents = 0\n');
    const result = await runCli(['config', 'check'], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /max_concurrent_agents: max_concurrent_agents must be at least 1/);
  });
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
});
