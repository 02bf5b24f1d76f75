import { request } from 'undici';
import { readOperatorToken } from '../api/operator-token.ts';
import { Ledger } from '../core/runs/ledger.ts';
import { isProcessAlive } from '../util/file-lock.ts';
import { AdapterError } from '../errors.ts';
import type { CommandContext } from './context.ts';

const REFRESH_TIMEOUT_MS = 30_000;

/** `dispatcher refresh`: asks the running `dispatcher run` of this config for a tick now (POST /refresh). */
export async function refresh(context: CommandContext): Promise<{ json: { ok: true; apiUrl: string; tickStartedAt: string }; text: string }> {
  const config = context.config();
  const data = await new Ledger(config.stateDir).read();
  const daemon = data.daemons.find((entry) => entry.mode === 'run' && entry.apiUrl && isProcessAlive(entry.pid));
  if (!daemon?.apiUrl) throw new AdapterError('unavailable', `no \`dispatcher run\` is running with the state in ${config.stateDir}; start it (or use \`dispatcher poll-once\`)`);
  const token = config.apiAuth === 'token' ? readOperatorToken(config.stateDir) : undefined;
  let answer;
  try {
    answer = await request(`${daemon.apiUrl}/refresh`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: REFRESH_TIMEOUT_MS,
      bodyTimeout: REFRESH_TIMEOUT_MS,
    });
  } catch (error) {
    throw new AdapterError('unavailable', `the dispatcher at ${daemon.apiUrl} did not answer: ${(error as Error).message}`, { cause: error });
  }
  const body = (await answer.body.json().catch(() => undefined)) as { tickStartedAt?: string; error?: { message?: string } } | undefined;
  if (answer.statusCode === 401 || answer.statusCode === 403) {
    throw new AdapterError('auth', `the dispatcher at ${daemon.apiUrl} refused the operator token (${body?.error?.message ?? answer.statusCode}); is ${config.stateDir}/operator-token the one it uses?`, { status: answer.statusCode });
  }
  if (answer.statusCode !== 200 || !body?.tickStartedAt) {
    throw new AdapterError('unavailable', `the dispatcher at ${daemon.apiUrl} answered ${answer.statusCode}${body?.error?.message ? `: ${body.error.message}` : ''}`, { status: answer.statusCode });
  }
  return { json: { ok: true, apiUrl: daemon.apiUrl, tickStartedAt: body.tickStartedAt }, text: `tick started at ${body.tickStartedAt} (${daemon.apiUrl})` };
}
