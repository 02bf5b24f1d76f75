/**
 * What one poll of a big Planka board costs: getReadyTasks over all 20 lists of a board holding
 * 20 × 500 cards, against the fake Planka. Prints requests per poll and the median time per poll,
 * next to a baseline measured in the same run: a bare undici GET of the same board JSON, parsed.
 * The ratio is the adapter's own overhead (indexing, mapping 10 000 cards to tasks).
 *
 *   node --import tsx bench/planka-poll.ts
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { PlankaAdapter } from '../adapters/planka/index.ts';
import { silentLogger } from '../src/log.ts';
import { startFakePlanka, type PlankaVersion } from '../fixtures/planka/fake-planka.ts';

const LISTS = 20;
const CARDS_PER_LIST = 500;
const RUNS = 9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(runs: number, action: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await action();
    times.push(performance.now() - start);
  }
  return median(times);
}

async function benchmark(version: PlankaVersion): Promise<void> {
  const fake = await startFakePlanka({ version });
  const bot = fake.seed.user({ username: 'bot' });
  const listNames = Array.from({ length: LISTS }, (_, index) => `List ${index + 1}`);
  const { board, lists, labels } = fake.seed.boardWithLists({ project: 'Bench', board: 'Big', lists: listNames, labels: ['agent:claude', 'priority:high', 'bug'], members: [bot] });
  const labelList = Object.values(labels);
  for (const list of Object.values(lists)) {
    for (let i = 0; i < CARDS_PER_LIST; i++) {
      fake.seed.card(list, `Card ${i}`, { description: 'Some words about the work.', labels: [labelList[i % 3]], members: i % 4 === 0 ? [bot] : [] });
    }
  }
  const token = fake.tokenFor(bot);
  const queues = listNames.map((name) => `Bench.Big.${name}`);
  const adapter = new PlankaAdapter({ url: fake.url, credentials: { token }, log: silentLogger });
  const agent = new Agent();
  try {
    const tasks = await adapter.getReadyTasks(queues);
    if (tasks.length !== LISTS * CARDS_PER_LIST) throw new Error(`expected ${LISTS * CARDS_PER_LIST} tasks, got ${tasks.length}`);
    await adapter.getReadyTasks(queues);

    fake.requests.length = 0;
    await adapter.getReadyTasks(queues);
    const requestsPerPoll = fake.requests.length;

    const bareGet = async () => {
      const response = await request(`${fake.url}/api/boards/${board.id}`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
      return response.body.json();
    };
    await bareGet();
    // Interleave the two measurements so that machine noise hits both alike.
    const adapterTimes: number[] = [];
    const baselineTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      baselineTimes.push(await timed(1, bareGet));
      adapterTimes.push(await timed(1, () => adapter.getReadyTasks(queues)));
    }
    const adapterMs = median(adapterTimes);
    const baselineMs = median(baselineTimes);
    console.log(
      [
        `Planka ${version}.x poll, ${LISTS} lists × ${CARDS_PER_LIST} cards (${LISTS * CARDS_PER_LIST} tasks), median of ${RUNS}:`,
        `  requests per poll: ${requestsPerPoll}`,
        `  adapter getReadyTasks: ${adapterMs.toFixed(1)} ms`,
        `  baseline (bare undici GET + JSON parse of the same board): ${baselineMs.toFixed(1)} ms`,
        `  ratio adapter / baseline: ${(adapterMs / baselineMs).toFixed(2)}`,
      ].join('\n'),
    );
  } finally {
    await adapter.close();
    await agent.close();
    await fake.close();
  }
}

await benchmark(2);
await benchmark(1);
