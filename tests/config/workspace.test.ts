import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { tempDir, writeFile } from '../helpers.ts';

function load(toml: string) {
  const dir = tempDir();
  return { dir, config: loadConfig({ path: writeFile(dir, 'dispatcher.toml', toml), env: {} }) };
}

function rejects(toml: string, message: RegExp): void {
  assert.throws(() => load(toml), (error: unknown) => error instanceof ConfigError && message.test(error.message));
}

describe('[workspace] configuration', () => {
  it('has no workspace unless asked', () => {
    assert.equal(load('[routing.Todo]\ncommand = "x"\n').config.routes[0].workspace, undefined);
  });

  it('resolves root and repo against the config folder, with the defaults of git and hooks', () => {
    const { dir, config } = load(`
[workspace]
root = "ws"
after_create = ["npm", "ci"]
before_run = { sh = "git fetch && echo $DISPATCHER_TASK_ID" }
remove_when_in = ["Done"]
git = { repo = "../repo" }

[routing.Todo]
command = "x"
`);
    assert.deepEqual(config.routes[0].workspace, {
      root: join(dir, 'ws'),
      git: { repo: join(dir, '..', 'repo'), base: 'main', branch: 'agent/{task_id}' },
      hooks: { after_create: ['npm', 'ci'], before_run: ['/bin/sh', '-c', 'git fetch && echo $DISPATCHER_TASK_ID'] },
      hookTimeoutMs: 60_000,
      removeWhenIn: ['Done'],
    });
  });

  it('lets a route override any key, git key by key, and have a workspace of its own', () => {
    const { dir, config } = load(`
state_dir = "state"
[workspace]
root = "ws"
hook_timeout = 5
git = { repo = "/srv/repo", branch = "agent/{task_id}" }

[routing.Todo]
command = "x"
workspace = { git = { base = "develop" }, hook_timeout = 1.5 }

[routing.Other]
command = "y"
`);
    const [todo, other] = config.routes;
    assert.deepEqual(todo.workspace!.git, { repo: '/srv/repo', base: 'develop', branch: 'agent/{task_id}' });
    assert.equal(todo.workspace!.hookTimeoutMs, 1500);
    assert.equal(other.workspace!.hookTimeoutMs, 5000);
    const alone = load('[routing.Todo]\ncommand = "x"\nworkspace = { after_run = ["true"] }\n');
    assert.equal(alone.config.routes[0].workspace!.root, join(alone.dir, '.dispatcher', 'workspaces'), 'default root: in the state folder');
    assert.equal(dir.length > 0, true);
  });

  it('says how to write a hook that is a plain string, and refuses bad values', () => {
    rejects('[workspace]\nbefore_run = "npm ci"\n', /workspace\.before_run: must be an argv array \(\["npm", "ci"\]\) or \{ sh = "a script for \/bin\/sh -c" \}/);
    rejects('[workspace]\nbefore_run = []\n', /workspace\.before_run/);
    rejects('[workspace]\nhook_timeout = 0\n', /hook_timeout must be above 0/);
    rejects('[workspace]\nbranch = "x"\n', /workspace/);
    rejects('[workspace]\ngit = { base = "main" }\n[routing.Todo]\ncommand = "x"\n', /workspace\.git\.repo: is required/);
    rejects('[routing.Todo]\ncommand = "x"\nworkspace = { remove_when_in = "Done" }\n', /routing\.Todo\.workspace\.remove_when_in/);
  });
});
