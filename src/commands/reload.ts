import { AdapterError, ConfigError } from '../errors.ts';
import type { CommandContext } from './context.ts';
import { postToDaemon } from './daemon-call.ts';

/**
 * `dispatcher reload`: the running `dispatcher run` reads its config again (POST /reload, as SIGHUP
 * does). A config it refuses is a config error here too (exit 2), with its message; it keeps the
 * one in force.
 */
export async function reload(context: CommandContext): Promise<{ json: { ok: true; apiUrl: string; loadedAt: string; routes: string[] }; text: string }> {
  const { apiUrl, statusCode, body } = await postToDaemon<{ loadedAt?: string; routes?: string[] }>(context.config(), '/reload');
  if (statusCode === 400) throw new ConfigError(`the dispatcher at ${apiUrl} refused the new config and keeps the one in force: ${body?.error?.message ?? 'invalid config'}`);
  if (statusCode !== 200 || !body?.loadedAt) {
    throw new AdapterError('unavailable', `the dispatcher at ${apiUrl} answered ${statusCode}${body?.error?.message ? `: ${body.error.message}` : ''}`, { status: statusCode });
  }
  const routes = body.routes ?? [];
  return { json: { ok: true, apiUrl, loadedAt: body.loadedAt, routes }, text: `configuration reloaded at ${body.loadedAt}: ${routes.length} route(s) (${apiUrl})` };
}
