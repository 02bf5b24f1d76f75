import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Router } from '../../src/core/dispatch/router.ts';
import { runTickLoop } from '../../src/core/dispatch/tick-loop.ts';
import { TickRequests, type TickTrigger } from '../../src/core/dispatch/tick-requests.ts';
import { silentLogger } from '../../src/log.ts';
import { recordedDeliveries, replayHeaders } from '../../fixtures/webhooks/recorded.ts';
import { CountingRequests, post, startHooks } from './support.ts';
import { waitFor } from '../helpers.ts';

/** A router that only counts its ticks; `hold` keeps a tick running until released. */
function countingRouter() {
  const ticks: Array<{ trigger?: TickTrigger; at: number }> = [];
  let hold: Promise<void> | undefined;
  const router = {
    onEvent: () => () => {},
    async tick() {
      ticks.push({ at: Date.now() });
      await hold;
      return { dispatched: [] };
    },
  } as unknown as Router;
  return {
    router,
    ticks,
    hold(): () => void {
      let release!: () => void;
      hold = new Promise((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

function startLoop(router: Router, requests: TickRequests, pollIntervalMs = 300_000) {
  const stop = new AbortController();
  const done = runTickLoop(router, { pollIntervalMs, signal: stop.signal, log: silentLogger, requests });
  return { stop: () => (stop.abort(), done) };
}

describe('tick now', () => {
  it('a burst of 20 deliveries makes one tick', async () => {
    // A window wide enough for 20 deliveries to arrive on a loaded machine; the default is 25 ms.
    const requests = new CountingRequests({ coalesceMs: 3_000 });
    const hooks = await startHooks({ requests });
    const { router, ticks } = countingRouter();
    const loop = startLoop(router, requests);
    try {
      await waitFor(() => ticks.length === 1, 5_000, 'the first tick');
      const triggers: TickTrigger[] = [];
      requests.onTick(({ trigger }) => triggers.push(trigger));
      const card = recordedDeliveries('planka').filter((delivery) => /cardUpdate|actionCreate/.test(delivery.name));
      const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => post(`${hooks.url}/hooks/planka`, replayHeaders(card[index % card.length].headers), card[index % card.length].body)));
      assert.deepEqual(new Set(answers.map((answer) => answer.json.result)), new Set(['accepted']));
      assert.equal(requests.asked.length, 20);
      await waitFor(() => ticks.length === 2, 10_000, 'the webhook tick');
      await sleep(800);
      assert.equal(ticks.length, 2, 'one tick for the whole burst');
      assert.deepEqual(triggers, ['webhook']);
    } finally {
      await loop.stop();
      await hooks.close();
    }
  });

  it('a request answers once its tick has started, and names its trigger', async () => {
    const requests = new TickRequests();
    const { router, ticks } = countingRouter();
    const loop = startLoop(router, requests);
    try {
      await waitFor(() => ticks.length === 1, 5_000, 'the first tick');
      assert.equal(requests.last?.trigger, 'poll');
      const asked = Date.now();
      await requests.request('refresh');
      assert.equal(ticks.length, 2);
      assert.equal(requests.last?.trigger, 'refresh');
      assert.ok(ticks[1].at >= asked);
    } finally {
      await loop.stop();
    }
  });

  it('a request that arrives while a tick runs gets a tick of its own after it', async () => {
    const requests = new TickRequests({ coalesceMs: 10 });
    const { router, ticks, hold } = countingRouter();
    const release = hold();
    const loop = startLoop(router, requests);
    try {
      await waitFor(() => ticks.length === 1, 5_000, 'the first tick');
      const served = requests.request('webhook');
      await sleep(50);
      assert.equal(ticks.length, 1, 'not while the first runs');
      release();
      await served;
      assert.equal(ticks.length, 2);
      assert.equal(requests.last?.trigger, 'webhook');
    } finally {
      await loop.stop();
    }
  });

  it('without requests the loop waits the whole poll interval', async () => {
    const { router, ticks } = countingRouter();
    const loop = startLoop(router, new TickRequests(), 400);
    try {
      await waitFor(() => ticks.length === 1, 5_000, 'the first tick');
      await sleep(200);
      assert.equal(ticks.length, 1);
      await waitFor(() => ticks.length === 2, 5_000, 'the poll');
      assert.ok(ticks[1].at - ticks[0].at >= 390);
    } finally {
      await loop.stop();
    }
  });
});
