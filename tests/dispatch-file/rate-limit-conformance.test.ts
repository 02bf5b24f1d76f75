import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createRateLimiter, type RateLimiter } from '../../src/core/dispatch-file/rate-limit.ts';
import { createPostgresRateLimiter } from '../../src/core/dispatch-file/postgres-rate-limit.ts';
import { openDispatchFilePool, type DispatchFilePool } from '../../src/core/dispatch-file/postgres-pool.ts';
import { freshDatabase } from '../support/postgres.ts';
import { tempDir } from './support.ts';

/**
 * The rate limit's contract, run against both implementations: the state file (one host) and
 * PostgreSQL ([coordination], several hosts). Each "process" is a limiter of its own over the same
 * state; the clock is the real one (the database's, for PostgreSQL).
 */
interface Backend {
  name: string;
  /** A fresh shared state; `limiter()` is one more process on it, with its own clock. */
  open(): Promise<{ limiter: (ratePerMinute: number, now?: () => number) => RateLimiter }>;
}

const pools: DispatchFilePool[] = [];
const dirs: Array<{ remove: () => Promise<void> }> = [];
after(async () => {
  for (const pool of pools) await pool.close();
  for (const dir of dirs) await dir.remove();
});

const backends: Backend[] = [
  {
    name: 'state file',
    async open() {
      const dir = await tempDir();
      dirs.push(dir);
      const file = join(dir.path, 'rate.json');
      return { limiter: (ratePerMinute, now) => createRateLimiter({ file, ratePerMinute, now }) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await freshDatabase();
      const pools_ = await Promise.all(Array.from({ length: 3 }, () => openDispatchFilePool({ urlEnv: 'TEST_DATABASE_URL', url, hostId: 'h', leaseTtlMs: 30_000 }, undefined)));
      pools.push(...pools_);
      let next = 0;
      // Processes spread over three pools, as over three hosts.
      return { limiter: (ratePerMinute, now) => createPostgresRateLimiter({ pool: pools_[next++ % pools_.length], tracker: 'gitea https://git.example', ratePerMinute, now }) };
    },
  },
];

const useAll = async (granted: number) => ({ used: granted });

for (const backend of backends) {
  describe(`rate limit contract: ${backend.name}`, () => {
    it('processes reserving at the same moment share one allowance', async () => {
      const state = await backend.open();
      const limiters = Array.from({ length: 6 }, () => state.limiter(4));
      const grants = await Promise.all(limiters.map((limiter) => limiter.reserve(3, useAll)));
      assert.equal(grants.reduce((sum, grant) => sum + grant.granted, 0), 4);
      assert.equal((await state.limiter(4).status()).available, 0);
    });

    it('slots the work did not use are given back to every process', async () => {
      const state = await backend.open();
      const first = await state.limiter(4).reserve(4, async () => ({ used: 1 }));
      assert.equal(first.granted, 4);
      assert.equal((await state.limiter(4).status()).available, 3);
      assert.equal((await state.limiter(4).reserve(9, useAll)).granted, 3);
    });

    it('a full window says when the next slot frees', async () => {
      const state = await backend.open();
      await state.limiter(2).reserve(2, useAll);
      const status = await state.limiter(2).status();
      assert.equal(status.available, 0);
      const wait = status.nextSlotAt - Date.now();
      assert.ok(wait > 50_000 && wait <= 60_000, `next slot in ${wait} ms`);
    });

    it('a dispatch counts from the start of its poll, at most 5 s back', async () => {
      const state = await backend.open();
      await state.limiter(1).reserve(1, useAll, Date.now() - 3_000);
      const wait = (await state.limiter(1).status()).nextSlotAt - Date.now();
      assert.ok(wait > 50_000 && wait <= 57_000, `next slot in ${wait} ms`);
      const other = await backend.open();
      await other.limiter(1).reserve(1, useAll, Date.now() - 600_000);
      const capped = (await other.limiter(1).status()).nextSlotAt - Date.now();
      assert.ok(capped > 50_000 && capped <= 55_000, `next slot in ${capped} ms`);
    });
  });
}

describe('rate limit in PostgreSQL: on the database\'s clock', () => {
  it('a host whose clock is an hour ahead still counts the same window, told in its own clock', async () => {
    const state = await backends[1].open();
    const skewed = () => Date.now() + 3_600_000;
    await state.limiter(2).reserve(2, useAll);
    const ahead = state.limiter(2, skewed);
    assert.equal((await ahead.reserve(2, useAll)).granted, 0, 'the other host\'s dispatches still count');
    const status = await ahead.status();
    assert.equal(status.available, 0);
    const wait = status.nextSlotAt - skewed();
    assert.ok(wait > 50_000 && wait <= 60_000, `next slot in ${wait} ms`);
  });
});
