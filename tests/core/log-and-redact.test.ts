import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';
import { redact, registerSecret } from '../../src/util/redact.ts';
import { loadConfig } from '../../src/config/load.ts';
import { tempDir, writeFile } from '../helpers.ts';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  return { stream, text: () => text };
}

describe('redaction', () => {
  it('redacts the Planka password and keys from the environment, never the user name', () => {
    const dir = tempDir();
    writeFile(dir, 'dispatcher.toml', '[backend]\ntype = "planka"\nurl = "http://127.0.0.1:1"\n');
    loadConfig({ cwd: dir, env: { PLANKA_USER: 'bot-7f3a', PLANKA_PASSWORD: 'pw-7f3a-secret', PLANKA_API_KEY: 'key-7f3a-secret' } });
    assert.equal(
      redact('Planka login as "bot-7f3a" failed with pw-7f3a-secret; its members: "admin", "bot-7f3a"; key key-7f3a-secret'),
      'Planka login as "bot-7f3a" failed with [redacted]; its members: "admin", "bot-7f3a"; key [redacted]',
    );
  });

  it('scrubs registered secrets, credential headers, query tokens and URL passwords', () => {
    registerSecret('s3cr3t-token-value');
    const line = redact(
      'token s3cr3t-token-value; Authorization: Bearer abc.def.ghi; X-Api-Key: k-123; GET /x?access_token=zzz&a=1; url https://bot:hunter2@planka.example.com/x; {"password":"p4ss"}',
    );
    for (const secret of ['s3cr3t-token-value', 'abc.def.ghi', 'k-123', 'zzz', 'hunter2', 'p4ss']) assert.ok(!line.includes(secret), `${secret} in ${line}`);
    assert.match(line, /https:\/\/bot:\[redacted\]@planka\.example\.com\/x/);
    assert.match(line, /a=1/);
  });

  it('reaches every log format and every subscriber', () => {
    registerSecret('another-secret-123');
    for (const format of ['plain', 'json'] as const) {
      const out = capture();
      const log = createLogger({ format, stream: out.stream, level: 'debug' });
      const seen: string[] = [];
      log.subscribe((record) => seen.push(record.message));
      log.withTag('planka').warn('login failed for %s with %s', 'bot', 'another-secret-123');
      log.debug('Authorization: token another-secret-123');
      assert.ok(!out.text().includes('another-secret-123'), out.text());
      assert.ok(seen.every((message) => !message.includes('another-secret-123')));
      assert.match(out.text(), /login failed for bot with \[redacted\]/);
      if (format === 'json') assert.equal(JSON.parse(out.text().split('\n')[0]).tag, 'planka');
    }
  });

  it('respects the level for output but still feeds subscribers (the dashboard tail)', () => {
    const out = capture();
    const log = createLogger({ format: 'plain', stream: out.stream, level: 'error' });
    const seen: string[] = [];
    log.subscribe((record) => seen.push(`${record.level} ${record.message}`));
    log.info('quiet');
    log.error('loud');
    assert.doesNotMatch(out.text(), /quiet/);
    assert.match(out.text(), /ERROR loud/);
    assert.deepEqual(seen, ['info quiet', 'error loud']);
  });

  it('builds no record that neither the output nor any subscriber wants', () => {
    const out = capture();
    const log = createLogger({ format: 'plain', stream: out.stream, level: 'info' });
    let formatted = 0;
    const counted = { toString: () => String(++formatted) };
    const seen: string[] = [];
    const stop = log.subscribe((record) => seen.push(`${record.level} ${record.message}`), 'info');
    log.debug('agent line %s', counted);
    log.info('dispatched');
    assert.equal(formatted, 0, 'a debug line nobody wants is never formatted');
    assert.deepEqual(seen, ['info dispatched']);

    const stopAll = log.subscribe((record) => seen.push(`${record.level} ${record.message}`));
    log.debug('agent line %s', counted);
    assert.equal(formatted, 1);
    assert.deepEqual(seen.slice(1), ['debug agent line 1'], 'only the subscriber that wants debug lines gets one');
    stopAll();
    log.debug('agent line %s', counted);
    assert.equal(formatted, 1, 'once it is gone, debug lines cost nothing again');
    stop();
    assert.doesNotMatch(out.text(), /agent line/);
  });

  it('writes the lines of one turn to stderr together, in order, and none is lost when the process exits at once', () => {
    const script = [
      "import { createLogger } from './src/log.ts';",
      "const log = createLogger({ format: 'plain' });",
      "for (let i = 1; i <= 3; i++) log.info(`line ${i}`);",
      "process.stderr.write('direct\\n');",
      "setImmediate(() => { log.warn('next turn'); log.error('last'); process.exit(3); });",
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
    assert.equal(result.status, 3, result.stderr);
    const lines = result.stderr.trim().split('\n').map((line) => line.replace(/^\S+ /, ''));
    assert.deepEqual(lines, ['INFO  line 1', 'INFO  line 2', 'INFO  line 3', 'direct', 'WARN  next turn', 'ERROR last']);
  });
});
