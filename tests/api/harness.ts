import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createJsonTracker from '../../adapters/json/index.ts';
import { createRunToken } from '../../src/core/runs/run-token.ts';
import { createTaskService } from '../../src/core/task-service.ts';
import { createLogger, silentLogger, type AppLogger } from '../../src/log.ts';
import { ensureOperatorToken, startApiServer, type ApiServer, type ServerLimits } from '../../src/api/server.ts';
import { tempDir } from '../helpers.ts';

/** A real API server on 127.0.0.1:0 over a JSON board in a temp folder, with a fake run registry. */
export interface Harness {
  api: ApiServer;
  url: string;
  dir: string;
  board: string;
  operatorToken: string;
  /** A live run token bound to the task (of a run of that agent kind). */
  startRun(taskId: string, agent?: string): string;
  /** The run ends: its token stops resolving. */
  endRun(token: string): void;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string;
  /** Sent as JSON with Content-Type: application/json unless `raw` is given. */
  json?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export const GITEA_ID = 'owner/repo#12';

export function boardData(): object {
  const task = (id: string, name: string, extra: object = {}) => ({ id, name, description: `About ${name}`, labels: [], assignees: [], comments: [], tasks: [], ...extra });
  return {
    queues: {
      Todo: [task('1', 'Fix crash'), task('2', 'Write docs', { labels: ['docs'] }), task(GITEA_ID, 'Gitea-style id')],
      'In Progress': [],
      Done: [],
    },
  };
}

export async function startHarness(options: { auth?: 'token' | 'none'; limits?: Partial<ServerLimits>; log?: AppLogger; board?: object; host?: string; port?: number } = {}): Promise<Harness> {
  const dir = tempDir('dispatcher-api-');
  const board = join(dir, 'board.json');
  writeFileSync(board, JSON.stringify(options.board ?? boardData(), null, 2));
  const tracker = createJsonTracker({ options: { type: 'json', url: board }, baseDir: dir, env: {}, log: silentLogger });
  const runs = new Map<string, { runId: string; taskId: string; agent?: string }>();
  const tokens = new Map<string, string>();
  const operator = await ensureOperatorToken(join(dir, 'state'));
  let runCount = 0;
  const api = await startApiServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    auth: options.auth ?? 'token',
    service: createTaskService(tracker),
    resolveRunToken: (hash) => runs.get(hash),
    operatorTokenHash: operator.hash,
    status: () => ({ identity: 'dispatcher', running: runs.size, slots: 3 }),
    log: options.log ?? (process.env.DEBUG_API ? createLogger({ level: 'debug', format: 'plain' }) : silentLogger),
    limits: options.limits,
  });
  return {
    api,
    url: api.url,
    dir,
    board,
    operatorToken: operator.token,
    startRun(taskId, agent) {
      const { token, hash } = createRunToken();
      runs.set(hash, { runId: `run-${++runCount}`, taskId, agent });
      tokens.set(token, hash);
      return token;
    },
    endRun(token) {
      runs.delete(tokens.get(token) ?? '');
    },
    async call(method, path, call = {}) {
      const headers: Record<string, string> = { ...call.headers };
      if (call.token) headers.authorization = `Bearer ${call.token}`;
      let body: string | Buffer | undefined = call.raw;
      if (call.json !== undefined) {
        body = JSON.stringify(call.json);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(api.url + path, { method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body) });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    close: () => api.close(),
  };
}

/** A logger that keeps every line, to check that no token reaches a log. */
export function capturingLogger(): { log: AppLogger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'plain', stream: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream });
  return { log, lines };
}
