import type { IncomingMessage } from 'node:http';
import type { StopRequest } from '../core/runs/ledger.ts';
import type { StopResult } from '../core/supervise/stop.ts';
import { summarise } from '../core/runs/status.ts';
import { ApiError } from './errors.ts';
import { optionalString } from './fields.ts';
import type { RouteContext, RouteDefinition } from './route-table.ts';

/** What the API needs of the router to act on runs. */
export interface RunControl {
  stopRun(id: string, request: Omit<StopRequest, 'at'>): Promise<StopResult>;
}

const DEFAULT_REASON = 'stopped by the operator';

/** `{"reason"?: string, "release"?: boolean}`: what a stop asks for. */
export function stopRequestFrom(body: Record<string, unknown>): Omit<StopRequest, 'at'> {
  const reason = optionalString(body, 'reason')?.trim();
  const release = body.release;
  if (release !== undefined && typeof release !== 'boolean') throw new ApiError(400, 'invalid_field', 'field "release" must be true or false');
  return { outcome: 'stopped', reason: reason || DEFAULT_REASON, ...(release ? { release: true } : {}) };
}

/** Whether the request carries a body to read (the operator's POST may come without one). */
export function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Stops a run and answers with it as recorded; the comment and any move follow when it settles. A
 * run of another host (coordination) is answered once it settled, or with `settled: false` when its
 * host has not acted on the recorded stop in time.
 */
export async function answerStop(control: RunControl, context: RouteContext, body: Record<string, unknown>) {
  const { run, elsewhere } = await control.stopRun(context.params.run_id, stopRequestFrom(body));
  return { status: 202, json: { ok: true, run: summarise(run), stop: run.stopRequest, ...(elsewhere ? { host: elsewhere.host, settled: elsewhere.settled } : {}) } };
}

/** `POST /runs/{run_id}/stop` for the operator (and scripts holding its token). */
export function runRoutes(control: RunControl): RouteDefinition[] {
  return [
    {
      method: 'POST',
      path: '/runs/{run_id}/stop',
      access: 'operator',
      handler: async (context) => answerStop(control, context, hasBody(context.request) ? await context.readJson() : {}),
      doc: {
        summary: 'Stop a running agent (operator token only)',
        description:
          'TERM to the agent\'s process group, KILL after kill_grace; the run ends as `stopped` with a comment giving the reason. ' +
          'The task stays in its in-progress queue unless `release` is true, which moves it back to the route\'s watched queue. ' +
          '`run_id` may also be the id of a task whose agent is running. Answers once the agent\'s group is gone. ' +
          'With [coordination], a run of another host is stopped by that host at its next heartbeat (lease_ttl / 3): the answer waits until the run settled and carries `host` and `settled` (false: the stop is recorded, its host has not acted yet). Body optional.',
        requestBody: {
          type: 'object',
          properties: { reason: { type: 'string', description: 'Said in the comment (default "stopped by the operator")' }, release: { type: 'boolean', description: 'Move the task back to the watched queue' } },
          additionalProperties: false,
        },
        responses: { 202: { description: 'The agent is gone; the run settles (comment, move) next', schema: { type: 'object' } }, 404: { description: 'No running agent with that run or task id' } },
      },
    },
  ];
}
