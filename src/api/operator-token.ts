import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashToken } from '../core/runs/run-token.ts';
import { registerSecret } from '../util/redact.ts';

export const OPERATOR_TOKEN_FILE = 'operator-token';

export interface OperatorToken {
  token: string;
  /** sha256 hex, for startApiServer's `operatorTokenHash`. */
  hash: string;
  file: string;
}

/**
 * The operator's API token, in `<state_dir>/operator-token` (mode 0600). Created on first use and
 * reused across restarts, so scripts and `dispatcher task ...` keep working. Two processes starting
 * at once agree on one token: the file appears with a hard link, which fails if it exists already.
 */
export async function ensureOperatorToken(stateDir: string): Promise<OperatorToken> {
  const file = join(stateDir, OPERATOR_TOKEN_FILE);
  const existing = await readTokenFile(file);
  if (existing) return remember(existing, file);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const token = `dsp_op_${randomBytes(32).toString('base64url')}`;
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${token}\n`, { mode: 0o600 });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readTokenFile(file);
    if (!winner) throw new Error(`${file} exists but holds no token; delete it to have a new one made`, { cause: error });
    return remember(winner, file);
  } finally {
    await unlink(temp).catch(() => {});
  }
  return remember(token, file);
}

/** The operator token if `<state_dir>/operator-token` exists (for the CLI); never creates it. */
export function readOperatorToken(stateDir: string): string | undefined {
  try {
    const token = readFileSync(join(stateDir, OPERATOR_TOKEN_FILE), 'utf8').trim();
    if (!token) return undefined;
    registerSecret(token);
    return token;
  } catch {
    return undefined;
  }
}

async function readTokenFile(file: string): Promise<string | undefined> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token) await chmod(file, 0o600).catch(() => {});
    return token || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function remember(token: string, file: string): OperatorToken {
  registerSecret(token);
  return { token, hash: hashToken(token), file };
}
