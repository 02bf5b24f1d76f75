import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { redact } from '../../src/util/redact.ts';
import { trackerKey } from '../../src/core/runs/postgres/tracker-key.ts';
import { runCli, tempDir, writeFile } from '../helpers.ts';

const board = '[backend]\ntype = "json"\nurl = "board.json"\n';

function load(toml: string, env: Record<string, string> = {}) {
  const dir = tempDir();
  writeFile(dir, 'dispatcher.toml', toml);
  return loadConfig({ cwd: dir, env });
}

describe('[coordination]', () => {
  it('is off without the table: the file ledger, no cluster caps', () => {
    const config = load(board);
    assert.equal(config.coordination, undefined);
  });

  it('takes the URL from the environment, the host name from host_id, DISPATCHER_HOST_ID or the hostname', () => {
    const url = 'postgres://dispatcher:s3cret-pw@db.example:5432/dispatch';
    const config = load(`${board}[coordination]\n`, { DISPATCHER_DATABASE_URL: url });
    assert.deepEqual(config.coordination, { urlEnv: 'DISPATCHER_DATABASE_URL', url, hostId: hostname(), leaseTtlMs: 30_000 });
    assert.equal(load(`${board}[coordination]\n`, { DISPATCHER_HOST_ID: 'h2' }).coordination?.hostId, 'h2');
    const named = load(`${board}[coordination]\nhost_id = "build-1"\npostgres_url_env = "PG_URL"\nlease_ttl = 2.5\n`, { PG_URL: url, DISPATCHER_HOST_ID: 'ignored' });
    assert.deepEqual(named.coordination, { urlEnv: 'PG_URL', url, hostId: 'build-1', leaseTtlMs: 2500 });
    assert.ok(named.secretEnv.includes('PG_URL'), 'agents never get the URL');
    assert.equal(redact(`connecting to ${url} failed; password s3cret-pw`), 'connecting to [redacted] failed; password [redacted]');
  });

  it('refuses a lease_ttl out of bounds, a host_id with spaces, and cluster caps without it', () => {
    const message = (toml: string) => {
      try {
        load(toml);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.message;
      }
      assert.fail('expected a ConfigError');
    };
    assert.match(message(`${board}[coordination]\nlease_ttl = 0.5\n`), /coordination\.lease_ttl: lease_ttl must be at least 1 second/);
    assert.match(message(`${board}[coordination]\nlease_ttl = 7200\n`), /lease_ttl must be at most 3600 seconds/);
    assert.match(message(`${board}[coordination]\nhost_id = "two words"\n`), /host_id must be printable ASCII without spaces/);
    assert.match(message(`cluster_max_concurrent_agents = 4\n${board}`), /cluster_max_concurrent_agents: needs \[coordination\]/);
    assert.match(message(`${board}[routing.Todo]\ncommand = "true"\ncluster_max_concurrent = 2\n`), /routing\.Todo\.cluster_max_concurrent: needs \[coordination\]/);
  });

  it('config check says where the ledger is and whether the URL is set, never the URL', async () => {
    const dir = tempDir();
    writeFile(dir, 'board.json', '{"queues": {"Todo": []}}');
    writeFile(dir, 'dispatcher.toml', `cluster_max_concurrent_agents = 9\n${board}[coordination]\nhost_id = "h1"\nlease_ttl = 10\n`);
    const unset = await runCli(['config', 'check'], { cwd: dir });
    assert.equal(unset.code, 0, unset.stderr);
    assert.match(unset.stdout, /^coordination: PostgreSQL \(DISPATCHER_DATABASE_URL NOT SET .*\), host "h1", lease 10s, at most 9 agents in the cluster$/m);
    writeFile(dir, '.env', 'DISPATCHER_DATABASE_URL=postgres://u:hunter2-secret@db/x\n');
    const set = await runCli(['config', 'check', '--json'], { cwd: dir });
    assert.ok(!set.stdout.includes('hunter2-secret'), set.stdout);
    assert.deepEqual(JSON.parse(set.stdout).config.coordination, { hostId: 'h1', leaseTtlMs: 10_000, DISPATCHER_DATABASE_URL: '[redacted]' });
  });

  it('run and status refuse to start without the URL, in one line with exit 2', async () => {
    const dir = tempDir();
    writeFile(dir, 'board.json', '{"queues": {"Todo": []}}');
    writeFile(dir, 'dispatcher.toml', `${board}[coordination]\n`);
    for (const args of [['status'], ['run']]) {
      const result = await runCli([...args, '--log-format', 'plain'], { cwd: dir, timeoutMs: 20_000 });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /\[coordination\] needs the database URL in the environment variable DISPATCHER_DATABASE_URL/);
    }
  });
});

describe('the tracker key', () => {
  it('names the tracker without credentials, the same from every host', () => {
    assert.equal(trackerKey({ type: 'planka', url: 'https://bot:pw@planka.example.com/?x=1' }, '/a'), 'planka https://planka.example.com');
    assert.equal(trackerKey({ type: 'planka', url: 'https://planka.example.com/' }, '/b'), 'planka https://planka.example.com');
    assert.equal(trackerKey({ type: 'json', url: 'board.json' }, '/srv/x'), 'json /srv/x/board.json');
    assert.equal(trackerKey({ type: 'module', path: './m.mjs', options: { board: 'b', apiToken: 't', list: ['x'] } }, '/p'), 'module  /p/m.mjs {"board":"b","list":["x"]}');
  });
});
