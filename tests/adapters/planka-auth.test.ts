import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import createPlankaTracker, { PlankaAdapter } from '../../adapters/planka/index.ts';
import { AdapterError, ConfigError } from '../../src/errors.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { startFakePlanka, type FakePlanka, type UserRecord } from '../../fixtures/planka/fake-planka.ts';

const QUEUE = 'Dispatch.Tasks.Todo';
const LOGIN = /^\/api\/access-tokens$/;

/** Through the factory, as the dispatcher makes it: credentials from the environment. */
async function tracker(fake: FakePlanka, env: Record<string, string>, log = silentLogger): Promise<PlankaAdapter> {
  return (await createPlankaTracker({ options: { type: 'planka', url: fake.url }, baseDir: process.cwd(), env, log })) as PlankaAdapter;
}

async function rejection(promise: Promise<unknown>): Promise<AdapterError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AdapterError, `expected an AdapterError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** Lines a real logger wrote (debug level, after its redaction). */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'plain', stream }), lines };
}

describe('Planka configuration', () => {
  const context = (env: Record<string, string>, url: unknown = 'http://127.0.0.1:1') => ({
    options: { type: 'planka', url: url as string },
    baseDir: '.',
    env,
    log: silentLogger,
  });

  it('without credentials, says which variables to set', () => {
    assert.throws(
      () => createPlankaTracker(context({})),
      (error: unknown) => error instanceof ConfigError && /PLANKA_TOKEN/.test(error.message) && /PLANKA_API_KEY/.test(error.message) && /PLANKA_USER and PLANKA_PASSWORD/.test(error.message),
    );
  });

  it('refuses half a login', () => {
    assert.throws(() => createPlankaTracker(context({ PLANKA_USER: 'bot' })), /PLANKA_PASSWORD is not/);
    assert.throws(() => createPlankaTracker(context({ PLANKA_PASSWORD: 'secret-pass' })), /PLANKA_USER is not/);
  });

  it('applies backend.request_timeout', async () => {
    const fake = await startFakePlanka({ version: 2 });
    const adapter = createPlankaTracker({
      options: { type: 'planka', url: fake.url, request_timeout: 0.3 },
      baseDir: '.',
      env: { PLANKA_TOKEN: fake.tokenFor(fake.admin) },
      log: silentLogger,
    }) as PlankaAdapter;
    try {
      await adapter.whoami();
      fake.intercept({ method: 'GET', path: /^\/api\/projects$/, delayMs: 2_000, times: 3 });
      const error = await rejection(adapter.getReadyTasks(['P.B.L']));
      assert.equal(error.kind, 'unavailable');
      assert.match(error.message, /no answer within 300 ms/);
    } finally {
      await adapter.close();
      await fake.close();
    }
  });

  it('needs a URL', () => {
    assert.throws(() => createPlankaTracker(context({ PLANKA_TOKEN: 'abcd' }, null)), (error: unknown) => error instanceof ConfigError && /backend\.url/.test(error.message));
    assert.throws(() => createPlankaTracker(context({ PLANKA_TOKEN: 'abcd' }, 'localhost:1337')), ConfigError);
  });
});

describe('Planka sign-in', () => {
  let fake: FakePlanka;
  let bot: UserRecord;
  before(async () => {
    fake = await startFakePlanka({ version: 2 });
    bot = fake.seed.user({ username: 'bot', password: 'Bot-Secret-Pass-1', acceptedTerms: false });
    fake.seed.boardWithLists({ project: 'Dispatch', board: 'Tasks', lists: ['Todo', 'Done'], members: [bot] });
  });
  after(() => fake?.close());

  it('accepts the 2.x terms once, then logs in directly', async () => {
    fake.requests.length = 0;
    const first = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    assert.equal(await first.whoami(), 'bot');
    assert.deepEqual(
      fake.requests.filter((r) => r.path !== '/api/bootstrap').map((r) => `${r.method} ${r.path} ${r.status}`),
      ['POST /api/access-tokens 403', 'GET /api/terms 200', 'POST /api/access-tokens/accept-terms 200', 'GET /api/users/me 200'],
    );
    assert.equal(bot.termsAccepted, true);
    await first.close();
    fake.requests.length = 0;
    const second = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    await second.whoami();
    assert.equal(fake.count('POST', LOGIN), 1);
    assert.equal(fake.count('POST', /accept-terms/), 0);
    await second.close();
  });

  it('logs out, on close, the session it opened, but never a given token', async () => {
    const loggedIn = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    await loggedIn.whoami();
    fake.requests.length = 0;
    await loggedIn.close();
    assert.equal(fake.count('DELETE', /^\/api\/access-tokens\/me$/), 1);
    const given = await tracker(fake, { PLANKA_TOKEN: fake.tokenFor(bot) });
    await given.whoami();
    fake.requests.length = 0;
    await given.close();
    assert.equal(fake.requests.length, 0);
  });

  it('logs in again, once, when the token expires', async () => {
    const adapter = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    try {
      await adapter.getReadyTasks([QUEUE]);
      fake.expireTokens();
      fake.requests.length = 0;
      await Promise.all([adapter.getReadyTasks([QUEUE]), adapter.getReadyTasks([QUEUE]), adapter.whoami()]);
      assert.equal(fake.count('POST', LOGIN), 1, 'concurrent requests share one new login');
      fake.requests.length = 0;
      await adapter.getReadyTasks([QUEUE]);
      assert.equal(fake.count('POST', LOGIN), 0);
    } finally {
      await adapter.close();
    }
  });

  it('falls back from an expired PLANKA_TOKEN to PLANKA_USER + PLANKA_PASSWORD', async () => {
    const token = fake.tokenFor(bot);
    const adapter = await tracker(fake, { PLANKA_TOKEN: token, PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    try {
      await adapter.getReadyTasks([QUEUE]);
      fake.expireTokens();
      await adapter.getReadyTasks([QUEUE]);
      assert.equal(fake.count('POST', LOGIN) > 0, true);
    } finally {
      await adapter.close();
    }
  });

  it('retries a refused request only once after the new login', async () => {
    const adapter = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password });
    let removeRule = () => {};
    try {
      await adapter.getReadyTasks([QUEUE]);
      fake.requests.length = 0;
      const body = JSON.stringify({ code: 'E_UNAUTHORIZED', message: 'Access token is missing, invalid or expired' });
      removeRule = fake.intercept({ method: 'GET', path: /^\/api\/boards\//, status: 401, body, times: 5 });
      const error = await rejection(adapter.getReadyTasks([QUEUE]));
      assert.equal(error.kind, 'auth');
      assert.equal(fake.count('POST', LOGIN), 1);
      assert.equal(fake.count('GET', /^\/api\/boards\//), 2);
    } finally {
      removeRule();
      await adapter.close();
    }
  });

  it('sends a 2.x API key as X-Api-Key', async () => {
    const adapter = await tracker(fake, { PLANKA_API_KEY: fake.apiKeyFor(bot) });
    fake.requests.length = 0;
    assert.equal(await adapter.whoami(), 'bot');
    assert.deepEqual(
      fake.requests.filter((r) => r.path.startsWith('/api/users')).map((r) => r.auth),
      ['api-key'],
    );
    await adapter.close();
  });

  it('a refused API key is called an API key when the adapter logs in instead', async () => {
    const { log, lines } = capturingLogger();
    const adapter = await tracker(fake, { PLANKA_API_KEY: 'abcdefgh_wrong0123456789', PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password }, log);
    try {
      assert.equal(await adapter.whoami(), 'bot');
      const text = lines.join('');
      assert.match(text, /Planka refused the API key in PLANKA_API_KEY: logging in again/);
      assert.doesNotMatch(text, /access token \(expired\?\)/);
    } finally {
      await adapter.close();
    }
  });

  it('a wrong password fails with Planka\'s message and without the password', async () => {
    const password = 'Wrong-Pass-Never-Shown';
    const { log, lines } = capturingLogger();
    const adapter = await tracker(fake, { PLANKA_USER: 'bot', PLANKA_PASSWORD: password }, log);
    const error = await rejection(adapter.getReadyTasks([QUEUE]));
    assert.equal(error.kind, 'auth');
    assert.match(error.message, /Invalid credentials/);
    assert.match(error.message, /PLANKA_USER/);
    assert.ok(!error.message.includes(password));
    assert.ok(!lines.join('').includes(password));
    await adapter.close();
  });

  it('a refused token is an auth error that does not show the token', async () => {
    const token = 'fake-jwt.this-token-is-not-known-to-the-server';
    const { log, lines } = capturingLogger();
    const adapter = await tracker(fake, { PLANKA_TOKEN: token }, log);
    const error = await rejection(adapter.getReadyTasks([QUEUE]));
    assert.equal(error.kind, 'auth');
    assert.equal(error.status, 401);
    assert.match(error.message, /PLANKA_TOKEN was refused/);
    assert.ok(!error.message.includes(token));
    assert.ok(!JSON.stringify(error).includes(token));
    assert.ok(!lines.join('').includes(token));
    await adapter.close();
  });

  it('never logs a credential or an obtained token', async () => {
    const user = fake.seed.user({ username: 'newbie', password: 'Newbie-Secret-Pass-9', acceptedTerms: false });
    fake.seed.member(fake.store.boards.values().next().value!, user);
    const { log, lines } = capturingLogger();
    const adapter = await tracker(fake, { PLANKA_USER: 'newbie', PLANKA_PASSWORD: user.password }, log);
    await adapter.getReadyTasks([QUEUE]);
    fake.expireTokens();
    await adapter.getReadyTasks([QUEUE]);
    await adapter.close();
    const text = lines.join('');
    assert.match(text, /accept its terms/);
    assert.match(text, /logging in again/);
    const secrets = [user.password, ...fake.store.sessions.keys(), ...fake.store.pendingTokens.keys()];
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret reached the log');
  });
});

describe('Planka API key on 1.x', () => {
  it('is refused with a clear message', async () => {
    const fake = await startFakePlanka({ version: 1 });
    const adapter = new PlankaAdapter({ url: fake.url, credentials: { apiKey: 'abcdefgh_0123456789' }, log: silentLogger });
    try {
      const error = await rejection(adapter.whoami());
      assert.equal(error.kind, 'auth');
      assert.match(error.message, /PLANKA_API_KEY needs Planka 2\.x/);
    } finally {
      await adapter.close();
      await fake.close();
    }
  });
});
