import { x } from 'tinyexec';
import { WorkspaceError } from '../../errors.ts';

export interface GitResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Git must look at the repository it is told to, whatever the dispatcher was started from. */
const INHERITED_GIT_VARIABLES = /^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|NAMESPACE|PREFIX)$/;
let gitEnv: Record<string, string> | undefined;
function environment(): Record<string, string> {
  if (gitEnv) return gitEnv;
  gitEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !INHERITED_GIT_VARIABLES.test(name)) gitEnv[name] = value;
  gitEnv.GIT_TERMINAL_PROMPT = '0';
  return gitEnv;
}

/** Runs git with an argv (never a shell) in `cwd`. */
export async function git(cwd: string, args: string[]): Promise<GitResult> {
  try {
    const result = await x('git', args, { throwOnError: false, nodeOptions: { cwd, env: environment() } });
    return { ok: result.exitCode === 0, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    return { ok: false, stdout: '', stderr: (error as Error).message };
  }
}

/** The same, throwing a WorkspaceError that quotes git when it fails. */
export async function gitOrThrow(cwd: string, args: string[], what: string): Promise<string> {
  const result = await git(cwd, args);
  if (!result.ok) {
    const said = (result.stderr || result.stdout).trim();
    throw new WorkspaceError(`${what}: ${said.split('\n').slice(-1)[0] || 'git failed'}`, { tail: said });
  }
  return result.stdout;
}
