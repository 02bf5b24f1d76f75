import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openSse, sampleState, startFeedServer } from './support.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('GET /events (Server-Sent Events, read as plain HTTP)', () => {
  it('sends the state, then the log tail with reset = true, on connect', async () => {
    const server = await startFeedServer();
    try {
      server.tail.push({ time: new Date().toISOString(), level: 'info', message: 'first line' });
      server.tail.push({ time: new Date().toISOString(), level: 'warn', tag: 'api', message: 'second line' });
      const stream = await openSse(`${server.url}/events`, bearer(server.token));
      assert.equal(stream.status, 200);
      assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(stream.headers.get('cache-control'), 'no-store');
      const snapshot = await stream.next();
      assert.equal(snapshot.event, 'snapshot', 'the state comes first');
      assert.equal(snapshot.data.schema, 1);
      assert.equal(snapshot.data.instance, 'test-instance');
      const log = await stream.next();
      assert.equal(log.event, 'log');
      assert.equal(log.data.reset, true);
      assert.deepEqual(
        log.data.lines.map((line: { seq: number; message: string; tag?: string }) => [line.seq, line.message, line.tag]),
        [
          [1, 'first line', undefined],
          [2, 'second line', 'api'],
        ],
      );
      stream.close();
    } finally {
      await server.close();
    }
  });

  it('pushes a new snapshot after a change, and nothing when the state did not change', async () => {
    const server = await startFeedServer({ feed: { minGapMs: 50 } });
    try {
      const stream = await openSse(`${server.url}/events`, bearer(server.token));
      await stream.next('snapshot');
      server.state = sampleState({ totals: { succeeded: 1 } });
      server.feed.changed();
      assert.deepEqual((await stream.next('snapshot')).data.totals, { succeeded: 1 });
      server.feed.changed(); // the same state again (only the clock moved): no event
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.state = sampleState({ totals: { succeeded: 2 } });
      server.feed.changed();
      const next = await stream.next('snapshot');
      assert.deepEqual(next.data.totals, { succeeded: 2 }, 'the unchanged state was not sent again');
      stream.close();
    } finally {
      await server.close();
    }
  });

  it('coalesces bursts: a few snapshots at once, then at most 5 per second, the last state always sent', async () => {
    const server = await startFeedServer();
    try {
      const stream = await openSse(`${server.url}/events`, bearer(server.token));
      await stream.next('snapshot');
      await new Promise((resolve) => setTimeout(resolve, 700)); // a full bucket
      const started = performance.now();
      let index = 0;
      while (performance.now() - started < 1_000) {
        server.state = sampleState({ totals: { succeeded: ++index } });
        server.feed.changed();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const changes = index;
      let last;
      do last = await stream.next('snapshot', 3_000);
      while (last.data.totals.succeeded !== changes);
      const elapsed = performance.now() - started;
      const snapshots = stream.events.filter((event) => event.event === 'snapshot').length - 1;
      // Burst of 3, then one per 200 ms: ~8 for the second of changes and the tail; never one per change.
      assert.ok(snapshots <= 3 + Math.ceil(elapsed / 200), `${snapshots} snapshots for ${changes} changes in ${Math.round(elapsed)} ms`);
      assert.ok(changes > 3 * snapshots, `${changes} changes, ${snapshots} snapshots`);
      stream.close();
    } finally {
      await server.close();
    }
  });

  it('sends new log lines as incremental log events, in order', async () => {
    const server = await startFeedServer();
    try {
      const stream = await openSse(`${server.url}/events`, bearer(server.token));
      await stream.next('log');
      for (let index = 0; index < 5; index++) server.tail.push({ time: new Date().toISOString(), level: 'info', message: `line ${index}` });
      const lines: Array<{ seq: number; message: string }> = [];
      while (lines.length < 5) {
        const event = await stream.next('log');
        assert.equal(event.data.reset, undefined);
        lines.push(...event.data.lines);
      }
      assert.deepEqual(lines.map((line) => line.message), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
      assert.deepEqual(lines.map((line) => line.seq), [1, 2, 3, 4, 5]);
      assert.ok(stream.events.filter((event) => event.event === 'log').length <= 3, 'lines that come together travel together');
      stream.close();
    } finally {
      await server.close();
    }
  });

  it('keeps the stream alive with comments', async () => {
    const server = await startFeedServer({ feed: { hub: { keepAliveMs: 40 } } });
    try {
      const stream = await openSse(`${server.url}/events`, bearer(server.token));
      await stream.next('log');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(stream.comments >= 2, `${stream.comments} keep-alive comments`);
      stream.close();
    } finally {
      await server.close();
    }
  });

  it('forgets a client that disconnects, and builds nothing while nobody watches', async () => {
    const server = await startFeedServer({ feed: { minGapMs: 10 } });
    try {
      const streams = await Promise.all([1, 2, 3].map(() => openSse(`${server.url}/events`, bearer(server.token))));
      await Promise.all(streams.map((stream) => stream.next('log')));
      assert.equal(server.feed.hub.size, 3);
      for (const stream of streams) stream.close();
      const deadline = Date.now() + 5_000;
      while (server.feed.hub.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(server.feed.hub.size, 0);
      const builds = server.builds;
      server.state = sampleState({ totals: { succeeded: 7 } });
      server.feed.changed();
      server.tail.push({ time: new Date().toISOString(), level: 'info', message: 'nobody reads this live' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(server.builds, builds);
    } finally {
      await server.close();
    }
  });

  it('ends open streams on shutdown, so closing the server does not hang', async () => {
    const server = await startFeedServer();
    const stream = await openSse(`${server.url}/events`, bearer(server.token));
    await stream.next('log');
    const started = performance.now();
    await server.close();
    await stream.ended;
    assert.ok(performance.now() - started < 1_500, `closed in ${Math.round(performance.now() - started)} ms`);
  });

  it('needs the operator token: 401 as JSON without it, the stream with it', async () => {
    const server = await startFeedServer();
    try {
      const anonymous = await fetch(`${server.url}/events`);
      assert.equal(anonymous.status, 401);
      assert.equal((await anonymous.json()).error.code, 'unauthorized');
      const wrong = await fetch(`${server.url}/events`, { headers: bearer('dsp_op_wrong') });
      assert.equal(wrong.status, 401);
      const open = await startFeedServer({ auth: 'none' });
      try {
        const stream = await openSse(`${open.url}/events`);
        assert.equal(stream.status, 200);
        await stream.next('snapshot');
        stream.close();
      } finally {
        await open.close();
      }
    } finally {
      await server.close();
    }
  });
});
