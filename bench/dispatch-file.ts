/**
 * What one `dispatch-file --once` cycle costs over 2 000 open, assigned issues in 4 repositories of
 * the fake Gitea: requests made and wall time, (A) with a rate limit high enough to write all of
 * them and (B) with the default limit of 1 per minute (one file written). Baselines measured in the
 * same run with bare undici: (A') every page, then each issue and its comments, written with plain
 * writeFile; (B') every page only. Each run starts from an empty tasks folder and rate state.
 * The fake runs in a child process, as a real Gitea would: serving does not share the client's event loop.
 *
 *   node --import tsx bench/dispatch-file.ts
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as v from 'valibot';
import { Agent, request } from 'undici';
import { dispatchFile } from '../src/commands/dispatch-file.ts';
import { configSchema } from '../src/config/schema.ts';
import { normaliseConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/log.ts';
import { startFakeGitea, type FakeGitea } from '../fixtures/gitea/fake-gitea.ts';

const REPOS = ['acme/api', 'acme/web', 'acme/ops', 'acme/docs'];
const ISSUES_PER_REPO = 500;
const AGENTS = ['hans', 'greta', 'ines', 'jonas', 'karl', 'lena', 'mia', 'nils'];
const LABELS = ['critical', 'high', 'bug', 'low', 'docs'];
const RUNS = { all: 3, one: 5 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const devnull = { write: () => true } as unknown as NodeJS.WritableStream;

function seed(fake: FakeGitea): void {
  let n = 0;
  for (const repo of REPOS) {
    fake.addRepo(repo, { labels: LABELS });
    for (let i = 0; i < ISSUES_PER_REPO; i++, n++) {
      fake.addIssue(repo, {
        title: `${i % 50 === 0 ? 'CRITICAL: ' : ''}Issue ${i} of ${repo}`,
        body: 'Steps to reproduce, expected and actual behaviour, a stack trace.\n'.repeat(5),
        labels: [LABELS[n % LABELS.length]],
        assignees: [AGENTS[n % AGENTS.length]],
        createdAt: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString().replace('.000Z', 'Z'),
        comments: i % 10 === 0 ? [{ body: 'Seen on staging too.' }, { body: 'Still happening.' }] : [],
      });
    }
  }
}

/** The fake in the child process, seen from the bench. */
interface RemoteGitea {
  url: string;
  token: string;
  resetRequests(): Promise<void>;
  requestCount(): Promise<number>;
  close(): Promise<void>;
}

async function serveInChild(): Promise<void> {
  const fake = await startFakeGitea();
  seed(fake);
  process.on('message', async (message: string) => {
    if (message === 'reset') fake.resetRequests();
    if (message === 'close') await fake.close();
    process.send!({ reply: message, count: fake.requests.length });
    if (message === 'close') process.disconnect();
  });
  process.send!({ reply: 'ready', url: fake.url, token: fake.token });
}

async function startRemote(): Promise<RemoteGitea> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  const ask = (message: string) =>
    new Promise<{ url: string; token: string; count: number }>((resolve) => {
      const listener = (reply: { reply: string; url: string; token: string; count: number }) => {
        if (reply.reply !== message) return;
        child.off('message', listener);
        resolve(reply);
      };
      child.on('message', listener);
      if (message !== 'ready') child.send(message);
    });
  const { url, token } = await ask('ready');
  return {
    url,
    token,
    resetRequests: async () => void (await ask('reset')),
    requestCount: async () => (await ask('count')).count,
    close: async () => void (await ask('close')),
  };
}

async function cycle(fake: RemoteGitea, ratePerMinute: number): Promise<{ ms: number; requests: number; written: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-dispatch-'));
  try {
    const raw = v.parse(configSchema, {
      state_dir: 'state',
      dispatch_file: { repos: REPOS, tasks_dir: 'tasks', rate_limit: ratePerMinute, backend: { type: 'gitea', url: fake.url } },
    });
    const config = normaliseConfig(raw, { baseDir: dir, env: { GITEA_TOKEN: fake.token } });
    await fake.resetRequests();
    const start = performance.now();
    const summary = await dispatchFile({ config, log: silentLogger, once: true, dryRun: false, signal: new AbortController().signal, stdout: devnull, stderr: devnull });
    const ms = performance.now() - start;
    if (summary.errors > 0) throw new Error(`the cycle had ${summary.errors} errors`);
    return { ms, requests: await fake.requestCount(), written: summary.dispatched };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function baseline(fake: RemoteGitea, agent: Agent, withIssues: boolean): Promise<{ ms: number; requests: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-baseline-'));
  const get = async (path: string) => {
    const response = await request(`${fake.url}/api/v1${path}`, { headers: { authorization: `token ${fake.token}` }, dispatcher: agent });
    return { body: (await response.body.json()) as Array<Record<string, unknown>>, total: Number(response.headers['x-total-count'] ?? 0) };
  };
  try {
    await fake.resetRequests();
    const start = performance.now();
    const issues: Array<{ repo: string; number: number; login: string }> = [];
    for (const repo of REPOS) {
      for (let page = 1; ; page++) {
        const { body } = await get(`/repos/${repo}/issues?state=open&type=issues&limit=50&page=${page}`);
        for (const issue of body) issues.push({ repo, number: issue.number as number, login: (issue.assignees as Array<{ login: string }>)[0].login });
        if (body.length < 50) break;
      }
    }
    if (withIssues) {
      for (const login of AGENTS) await mkdir(join(dir, login), { recursive: true });
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let index = worker; index < issues.length; index += 8) {
            const { repo, number, login } = issues[index];
            const issue = await get(`/repos/${repo}/issues/${number}`);
            const comments = await get(`/repos/${repo}/issues/${number}/comments`);
            await writeFile(join(dir, login, `${repo.replace('/', '+')}-issue-${number}.md`), JSON.stringify([issue.body, comments.body]));
          }
        }),
      );
    }
    const ms = performance.now() - start;
    return { ms, requests: await fake.requestCount() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const fake = await startRemote();
  const agent = new Agent();
  try {
    await cycle(fake, 1);
    await baseline(fake, agent, false);

    const all = { cycle: [] as number[], base: [] as number[], requests: 0, baseRequests: 0, written: 0 };
    for (let i = 0; i < RUNS.all; i++) {
      const b = await baseline(fake, agent, true);
      const c = await cycle(fake, 100_000);
      all.base.push(b.ms);
      all.cycle.push(c.ms);
      Object.assign(all, { requests: c.requests, baseRequests: b.requests, written: c.written });
    }
    const one = { cycle: [] as number[], base: [] as number[], requests: 0, baseRequests: 0, written: 0 };
    for (let i = 0; i < RUNS.one; i++) {
      const b = await baseline(fake, agent, false);
      const c = await cycle(fake, 1);
      one.base.push(b.ms);
      one.cycle.push(c.ms);
      Object.assign(one, { requests: c.requests, baseRequests: b.requests, written: c.written });
    }
    const total = REPOS.length * ISSUES_PER_REPO;
    const line = (label: string, r: typeof all) =>
      [
        `${label}:`,
        `  dispatch-file --once: ${r.written} files, ${r.requests} requests, ${median(r.cycle).toFixed(0)} ms (median of ${r.cycle.length})`,
        `  baseline:             ${r.baseRequests} requests, ${median(r.base).toFixed(0)} ms`,
        `  ratio cycle / baseline: ${(median(r.cycle) / median(r.base)).toFixed(2)} (time), ${(r.requests / r.baseRequests).toFixed(2)} (requests)`,
      ].join('\n');
    console.log(`dispatch-file over ${total} open assigned issues in ${REPOS.length} repositories (fake Gitea, pages of 50)`);
    console.log(line("A. rate_limit = 100000 (all written; baseline: bare undici pages + each issue + its comments, plain writeFile)", all));
    console.log(line('B. rate_limit = 1, the default (one written; baseline: bare undici pages only)', one));
  } finally {
    await agent.close();
    await fake.close();
  }
}

if (process.argv.includes('--serve')) await serveInChild();
else await main();
