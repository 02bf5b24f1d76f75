import { ConfigError } from '../../src/errors.ts';
import { registerSecret } from '../../src/util/redact.ts';

/** What the environment gives the Planka adapter to sign in with. At least one is set. */
export interface PlankaCredentials {
  /** PLANKA_TOKEN: an access token, sent as `Authorization: Bearer`. */
  token?: string;
  /** PLANKA_API_KEY: a 2.x API key, sent as `X-Api-Key`. */
  apiKey?: string;
  /** PLANKA_USER + PLANKA_PASSWORD: logs in, and logs in again when a token expires. */
  login?: { username: string; password: string };
}

export const CREDENTIAL_HELP =
  'set PLANKA_TOKEN (an access token), PLANKA_API_KEY (Planka 2.x API key) or PLANKA_USER and PLANKA_PASSWORD, in the environment or in .env';

/** Reads and registers (for redaction) the Planka credentials; a ConfigError names what to set. */
export function readCredentials(env: Record<string, string | undefined>): PlankaCredentials {
  const value = (name: string) => {
    const text = env[name]?.trim();
    return text ? text : undefined;
  };
  const token = value('PLANKA_TOKEN');
  const apiKey = value('PLANKA_API_KEY');
  const username = value('PLANKA_USER');
  const password = env.PLANKA_PASSWORD ? env.PLANKA_PASSWORD : undefined;
  for (const secret of [token, apiKey, password]) registerSecret(secret);

  if (username && !password) throw new ConfigError('PLANKA_USER is set but PLANKA_PASSWORD is not: set both, or use PLANKA_TOKEN / PLANKA_API_KEY');
  if (password && !username) throw new ConfigError('PLANKA_PASSWORD is set but PLANKA_USER is not: set both, or use PLANKA_TOKEN / PLANKA_API_KEY');
  const credentials: PlankaCredentials = { token, apiKey, login: username && password ? { username, password } : undefined };
  if (!token && !apiKey && !credentials.login) throw new ConfigError(`the Planka backend has no credentials: ${CREDENTIAL_HELP}`);
  return credentials;
}
