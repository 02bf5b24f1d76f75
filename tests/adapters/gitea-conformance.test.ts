import { runConformance } from './conformance.ts';
import createGiteaTracker from '../../adapters/gitea/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startFakeGitea } from '../../fixtures/gitea/fake-gitea.ts';

runConformance('gitea', async () => {
  const fake = await startFakeGitea();
  fake.addRepo('acme/app', { labels: ['ready', 'in-progress', 'bug', 'CRITICAL'] });
  const adapter = await createGiteaTracker({
    options: { type: 'gitea', url: fake.url },
    baseDir: process.cwd(),
    env: { GITEA_TOKEN: fake.token },
    log: silentLogger,
  });
  return {
    adapter,
    queues: ['acme/app:ready', 'acme/app:in-progress', 'acme/app:closed'],
    missingId: 'acme/app#9999',
    labels: ['bug'],
    missingQueue: 'acme/app:no-such-label',
    close: () => fake.close(),
  };
});
