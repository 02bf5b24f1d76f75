/**
 * Secrets are registered once (config loading, adapters that obtain a token) and scrubbed from
 * every log line and every error the CLI prints. Pattern rules catch credentials we never saw.
 */
const secrets = new Set<string>();

export const REDACTED = '[redacted]';

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

const patterns: Array<[RegExp, string]> = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\/\s:@]+):([^@\s\/]+)@/gi, `$1$2:${REDACTED}@`],
  [/\b(authorization|x-api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)(bearer\s+|token\s+|basic\s+)?[^\s"',;}]+/gi, `$1$2$3${REDACTED}`],
  [/\b(access_token|token|password|api_key|apikey|secret)=([^&\s"']+)/gi, `$1=${REDACTED}`],
  [/("(?:password|token|accessToken|pendingToken|apiKey|api_key|secret)"\s*:\s*")[^"]*"/gi, `$1${REDACTED}"`],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** Environment variable names that hold tracker credentials: never passed to agents. */
export const SECRET_ENV_PATTERNS: RegExp[] = [/^PLANKA_/, /^GITEA_TOKEN$/, /^GITEA_WEBHOOK_SECRET$/, /^DISPATCHER_OPERATOR_TOKEN$/];

/**
 * Credential variables that name who the dispatcher is, not a secret: kept from agents like the
 * others, but never redacted (`Planka login as "bot" failed` must say who).
 */
export const PUBLIC_CREDENTIAL_ENV: ReadonlySet<string> = new Set(['PLANKA_USER']);

export function isSecretEnvName(name: string, extra: readonly string[] = []): boolean {
  return extra.includes(name) || SECRET_ENV_PATTERNS.some((pattern) => pattern.test(name));
}
