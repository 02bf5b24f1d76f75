import { isSecretEnvName } from '../util/redact.ts';

/**
 * The agent's environment: ours minus every tracker secret, plus the route's extra variables and
 * the run's DISPATCHER_* variables. Secrets from the config's .env never get here at all.
 */
export function buildAgentEnv(
  base: NodeJS.ProcessEnv,
  secretNames: readonly string[],
  routeEnv: Record<string, string>,
  runVars: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !isSecretEnvName(name, secretNames) && !name.startsWith('DISPATCHER_')) env[name] = value;
  }
  for (const [name, value] of Object.entries(routeEnv)) {
    if (!isSecretEnvName(name, secretNames)) env[name] = value;
  }
  return { ...env, ...runVars };
}
