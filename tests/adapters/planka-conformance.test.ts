import createPlankaTracker from '../../adapters/planka/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startFakePlanka, type FakePlanka, type PlankaVersion, type UserRecord } from '../../fixtures/planka/fake-planka.ts';
import { runConformance, type ConformanceTarget } from './conformance.ts';

type AuthStyle = 'token' | 'apiKey' | 'password';

/** The conformance suite on the fake Planka, each version, each way to sign in. */
function plankaTarget(version: PlankaVersion, auth: AuthStyle, project: string): () => Promise<ConformanceTarget> {
  return async () => {
    const fake = await startFakePlanka({ version });
    // The bot has not accepted the terms: a password login on 2.x goes through the terms step.
    const bot = fake.seed.user({ username: 'bot', password: 'BotPass123!x', acceptedTerms: false });
    fake.seed.boardWithLists({ project, board: 'Tasks', lists: ['Backlog', 'In Progress', 'Done'], labels: ['agent:claude', 'priority:high'], members: [bot] });
    const adapter = await createPlankaTracker({
      options: { type: 'planka', url: fake.url },
      baseDir: process.cwd(),
      env: credentials(fake, bot, auth),
      log: silentLogger,
    });
    return {
      adapter,
      queues: [`${project}.Tasks.Backlog`, `${project}.Tasks.In Progress`, `${project}.Tasks.Done`],
      missingId: '1912999999999999999',
      labels: ['agent:claude', 'priority:high'],
      missingQueue: `${project}.Tasks.Nope`,
      close: () => fake.close(),
    };
  };
}

function credentials(fake: FakePlanka, bot: UserRecord, auth: AuthStyle): Record<string, string> {
  if (auth === 'token') return { PLANKA_TOKEN: fake.tokenFor(bot) };
  if (auth === 'apiKey') return { PLANKA_API_KEY: fake.apiKeyFor(bot) };
  return { PLANKA_USER: 'bot', PLANKA_PASSWORD: bot.password };
}

runConformance('planka 1.x, PLANKA_TOKEN', plankaTarget(1, 'token', 'Dispatch'));
runConformance('planka 1.x, PLANKA_USER + PLANKA_PASSWORD', plankaTarget(1, 'password', 'Dispatch'));
runConformance('planka 2.x, PLANKA_USER + PLANKA_PASSWORD (terms step)', plankaTarget(2, 'password', 'Dispatch'));
runConformance('planka 2.x, PLANKA_API_KEY, dotted project name', plankaTarget(2, 'apiKey', 'acme.io'));
runConformance('planka 2.x, PLANKA_TOKEN', plankaTarget(2, 'token', 'Dispatch Test'));
