import { AdapterError } from '../errors.ts';
import type { CommandContext } from './context.ts';
import { postToDaemon } from './daemon-call.ts';

/** `dispatcher refresh`: asks the running `dispatcher run` of this config for a tick now (POST /refresh). */
export async function refresh(context: CommandContext): Promise<{ json: { ok: true; apiUrl: string; tickStartedAt: string }; text: string }> {
  const { apiUrl, statusCode, body } = await postToDaemon<{ tickStartedAt?: string }>(context.config(), '/refresh');
  if (statusCode !== 200 || !body?.tickStartedAt) {
    throw new AdapterError('unavailable', `the dispatcher at ${apiUrl} answered ${statusCode}${body?.error?.message ? `: ${body.error.message}` : ''}`, { status: statusCode });
  }
  return { json: { ok: true, apiUrl, tickStartedAt: body.tickStartedAt }, text: `tick started at ${body.tickStartedAt} (${apiUrl})` };
}
