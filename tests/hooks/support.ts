import { request } from 'node:http';
import { join } from 'node:path';
import * as v from 'valibot';
import { normaliseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { TickRequests, type TickTrigger } from '../../src/core/dispatch/tick-requests.ts';
import { PushStatusRecorder } from '../../src/api/hooks/push-status.ts';
import { serveHooks, type HookServing } from '../../src/api/hooks/serve.ts';
import type { BodyLimits } from '../../src/api/body.ts';
import { RECORDED_GITEA_REPO, RECORDED_GITEA_SECRET, RECORDED_PLANKA_BOARD, RECORDED_PLANKA_TOKEN } from '../../fixtures/webhooks/recorded.ts';
import { capturingLogger } from '../api/harness.ts';
import { tempDir } from '../helpers.ts';

/** Counts the ticks asked for, by trigger. */
export class CountingRequests extends TickRequests {
  readonly asked: TickTrigger[] = [];
  override request(trigger: Exclude<TickTrigger, 'poll'>): Promise<void> {
    this.asked.push(trigger);
    return super.request(trigger);
  }
}

export interface HookHarness {
  url: string;
  serving: HookServing;
  requests: CountingRequests;
  status: PushStatusRecorder;
  lines: string[];
  stateDir: string;
  close(): Promise<void>;
}

/** Both receivers on their own address (port 0), watching the recordings' repository and board. */
export async function startHooks(options: { env?: Record<string, string>; limits?: Partial<BodyLimits>; requests?: CountingRequests } = {}): Promise<HookHarness> {
  const dir = tempDir();
  const raw = v.parse(configSchema, {
    backend: { type: 'json', url: 'board.json' },
    webhooks: { listen: '127.0.0.1:0' },
    routing: { [`${RECORDED_GITEA_REPO}:ready`]: { command: 'true' }, [`${RECORDED_PLANKA_BOARD}.Todo`]: { command: 'true' } },
  });
  const env = options.env ?? { GITEA_WEBHOOK_SECRET: RECORDED_GITEA_SECRET, PLANKA_WEBHOOK_TOKEN: RECORDED_PLANKA_TOKEN };
  const config = normaliseConfig(raw, { file: join(dir, 'dispatcher.toml'), baseDir: dir, env });
  const requests = options.requests ?? new CountingRequests();
  const status = new PushStatusRecorder({ stateDir: config.stateDir });
  const { log, lines } = capturingLogger();
  const serving = (await serveHooks({ config, mode: 'run', requests, status, log, limits: options.limits }))!;
  return { url: serving.url!, serving, requests, status, lines, stateDir: config.stateDir, close: () => serving.close() };
}

export interface Answer {
  status: number;
  json: any;
}

/** POSTs a body (string or bytes) with exactly these headers, on a connection of its own. */
export function post(url: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
