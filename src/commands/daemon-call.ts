import { request } from 'undici';
import { readOperatorToken } from '../api/operator-token.ts';
import type { Config } from '../config/types.ts';
import { openLedger } from '../core/runs/open-ledger.ts';
import { isProcessAlive } from '../util/file-lock.ts';
import { AdapterError } from '../errors.ts';

const DAEMON_TIMEOUT_MS = 30_000;

export interface DaemonAnswer<T> {
  apiUrl: string;
  statusCode: number;
  body: (T & { error?: { message?: string } }) | undefined;
}

/**
 * POSTs to the running `dispatcher run` of this config (found in the ledger of its `state_dir`)
 * with the operator token. No daemon, no answer: AdapterError 'unavailable'; a refused token: 'auth'.
 */
export async function postToDaemon<T>(config: Config, path: string): Promise<DaemonAnswer<T>> {
  const ledger = await openLedger(config);
  const data = await ledger.read().finally(() => ledger.close());
  const daemon = data.daemons.find((entry) => entry.mode === 'run' && entry.apiUrl && isProcessAlive(entry.pid));
  if (!daemon?.apiUrl) throw new AdapterError('unavailable', `no \`dispatcher run\` is running with the state in ${config.stateDir}; start it (or use \`dispatcher poll-once\`)`);
  const token = config.apiAuth === 'token' ? readOperatorToken(config.stateDir) : undefined;
  let answer;
  try {
    answer = await request(`${daemon.apiUrl}${path}`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: DAEMON_TIMEOUT_MS,
      bodyTimeout: DAEMON_TIMEOUT_MS,
    });
  } catch (error) {
    throw new AdapterError('unavailable', `the dispatcher at ${daemon.apiUrl} did not answer: ${(error as Error).message}`, { cause: error });
  }
  const body = (await answer.body.json().catch(() => undefined)) as DaemonAnswer<T>['body'];
  if (answer.statusCode === 401 || answer.statusCode === 403) {
    throw new AdapterError('auth', `the dispatcher at ${daemon.apiUrl} refused the operator token (${body?.error?.message ?? answer.statusCode}); is ${config.stateDir}/operator-token the one it uses?`, { status: answer.statusCode });
  }
  return { apiUrl: daemon.apiUrl, statusCode: answer.statusCode, body };
}
