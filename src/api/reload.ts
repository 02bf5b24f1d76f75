import type { ConfigHolder } from '../core/supervise/reload.ts';
import { DispatcherError } from '../errors.ts';
import { redact } from '../util/redact.ts';
import { ApiError } from './errors.ts';
import type { ApiServer } from './server.ts';

/** `POST /reload` (operator): reads the config again, as SIGHUP does; `dispatcher reload` calls it. */
export function mountReload(api: Pick<ApiServer, 'route'>, holder: ConfigHolder): void {
  api.route(
    'POST',
    '/reload',
    () => {
      try {
        const config = holder.reload();
        return { json: { ok: true, loadedAt: holder.loadedAt(), routes: config.routes.map((route) => route.queue) } };
      } catch (error) {
        const detail = error instanceof DispatcherError && error.detail ? `\n${error.detail}` : '';
        throw new ApiError(400, 'invalid_config', redact(`${(error as Error).message}${detail}`));
      }
    },
    {
      access: 'operator',
      doc: {
        summary: 'Reload the configuration (operator token only)',
        description: 'As SIGHUP: routes, limits, timeouts and budgets take effect at the next tick; running agents keep their rules. An invalid config is refused (400 `invalid_config`, with the error) and the one in force stays.',
        responses: { 200: { description: 'Reloaded', schema: { type: 'object', properties: { ok: { type: 'boolean' }, loadedAt: { type: 'string', format: 'date-time' }, routes: { type: 'array', items: { type: 'string' } } } } }, 400: { description: 'The new config is invalid; nothing changed' } },
      },
    },
  );
}
