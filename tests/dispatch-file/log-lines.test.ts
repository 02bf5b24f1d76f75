import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoLogTime, formatLogLine } from '../../src/core/dispatch-file/log-lines.ts';
import { registerSecret } from '../../src/util/redact.ts';

describe('log lines', () => {
  it('print local time the way Go\'s log does, with microseconds', () => {
    const epoch = new Date(2026, 3, 9, 14, 32, 15, 123).getTime() + 0.456;
    assert.equal(formatGoLogTime(epoch), '2026/04/09 14:32:15.123456');
    assert.equal(formatGoLogTime(new Date(2026, 0, 2, 3, 4, 5, 6).getTime()), '2026/01/02 03:04:05.006000');
  });

  it('match the reference line', () => {
    const epoch = new Date(2026, 3, 9, 14, 32, 15, 123).getTime() + 0.456;
    assert.equal(
      formatLogLine(epoch, '✅ DISPATCHED: hans → Issue #2 (CRITICAL: silent DB errors) [Priority: CRITICAL]'),
      '[DISPATCHER] 2026/04/09 14:32:15.123456 ✅ DISPATCHED: hans → Issue #2 (CRITICAL: silent DB errors) [Priority: CRITICAL]',
    );
  });

  it('stay on one line and carry no secret', () => {
    registerSecret('log-line-secret-999');
    const line = formatLogLine(Date.now(), 'a\nb Authorization: token log-line-secret-999');
    assert.ok(!line.includes('\n'));
    assert.ok(!line.includes('log-line-secret-999'));
  });
});
