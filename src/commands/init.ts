import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';

const HEADER = `# dispatcher configuration: https://github.com/ (see docs/configuration.md for every key)
poll_interval = 30            # seconds between polls
max_concurrent_agents = 3     # agents running at once, across all routes
# default_agent_timeout = 3600  # seconds; TERM, then KILL after kill_grace
api_host = "127.0.0.1"        # the local API agents talk to
# api_port = 8000            # default; if another program has it, a free port (with a warning)

[backend]
type = "json"                 # "json", "planka", "gitea" or "module"
url = "board.json"            # relative to this file
`;

const COMMAND_ROUTE = `
[routing."Todo"]
command = "echo"              # any program; never run through a shell
args = ["Working on task {task_id}: {task_name}"]
in_progress_queue = "In Progress"
# timeout = 1800
# on_success_queue = "Done"
# on_failure_queue = "Todo"
`;

/** Claude Code in print mode, allowed only the dispatcher's own task commands (docs/agents.md). */
const CLAUDE_ROUTE = `
[routing."Todo"]
agent = "claude"
command = "claude"            # or its full path
args = [
  "-p", "You work on task {task_id} ({task_name}). Read it with: dispatcher task show {task_id}. Report what you did with: dispatcher task comment {task_id} \\"<your report>\\". When it is done, move it with: dispatcher task move {task_id} Done",
  # Print mode has no one to ask: a tool not allowed here is denied. Add what the work needs
  # ("Edit", "Bash(npm test:*)", ...). As root, --dangerously-skip-permissions is refused.
  "--allowedTools", "Bash(dispatcher task:*)",
]
in_progress_queue = "In Progress"
on_success_queue = "Done"
cwd = "work/{task_id}"        # one folder per task; the resume hint in the run comment cds there
timeout = 3600                # seconds (claude and codex routes default to 3600 anyway)
# env = { CLAUDE_CONFIG_DIR = "/srv/agents/claude" }   # where sessions live; the resume hint names it
`;

/** Codex in exec mode, with loopback open so that `dispatcher task` reaches the API (docs/agents.md). */
const CODEX_ROUTE = `
[routing."Todo"]
agent = "codex"
command = "codex"             # or its full path
args = [
  "exec",
  "--skip-git-repo-check",    # outside a git repository codex exec refuses to run without it
  # The default sandbox blocks loopback, and with it the dispatcher API:
  "-s", "workspace-write", "-c", "sandbox_workspace_write.network_access=true",
  # Codex runs commands in a login shell that resets PATH: call this CLI as "$DISPATCHER_BIN".
  "You work on task {task_id} ({task_name}). Read it with: \\"$DISPATCHER_BIN\\" task show {task_id}. Report what you did with: \\"$DISPATCHER_BIN\\" task comment {task_id} \\"<your report>\\". When it is done, move it with: \\"$DISPATCHER_BIN\\" task move {task_id} Done",
]
in_progress_queue = "In Progress"
on_success_queue = "Done"
cwd = "work/{task_id}"        # one folder per task; the resume hint in the run comment cds there
timeout = 3600                # Codex without network waits for it forever: keep a limit
# env = { CODEX_HOME = "/srv/agents/codex" }   # where sessions live; the resume hint names it
`;

/** Appended to every config: the workspace settings, commented out. */
const WORKSPACE = `
# A workspace per task (docs/workspaces.md): a folder, or a git worktree on a branch of its own,
# kept across attempts; hooks are argv arrays, or { sh = "..." } to run a script through /bin/sh.
# The agent then starts in its workspace (a route's cwd names a folder inside it: drop cwd above),
# and a worktree is a git repository (codex needs no --skip-git-repo-check there).
# [workspace]
# root = "workspaces"                 # relative to this file; each task's is root/<task id>
# git = { repo = "../my-repo", base = "main", branch = "agent/{task_id}" }
# after_create = ["npm", "ci"]        # once, in a new workspace
# before_run = { sh = "git fetch -q origin || true" }   # before each attempt
# after_run = ["git", "status", "--short"]             # after each attempt ($DISPATCHER_OUTCOME)
# hook_timeout = 60                   # seconds per hook
# remove_when_in = ["Done"]           # remove a workspace (never its branch) once its task is here
`;

const ROUTES = { command: COMMAND_ROUTE, claude: CLAUDE_ROUTE, codex: CODEX_ROUTE } as const;
export type InitAgent = keyof typeof ROUTES;
export const INIT_AGENTS = Object.keys(ROUTES) as InitAgent[];

const BOARD = `${JSON.stringify({ queues: { Todo: [], 'In Progress': [], Done: [] } }, null, 2)}\n`;

/** Writes dispatcher.toml (with a route for `agent`) and board.json; refuses to overwrite either. */
export async function initProject(folder: string, agent: InitAgent = 'command'): Promise<string[]> {
  if (!ROUTES[agent]) throw new UsageError(`--agent must be one of: ${INIT_AGENTS.join(', ')}`);
  const files: Array<[string, string]> = [
    ['dispatcher.toml', HEADER + ROUTES[agent] + WORKSPACE],
    ['board.json', BOARD],
  ];
  const written: string[] = [];
  for (const [name, content] of files) {
    let handle;
    try {
      handle = await open(join(folder, name), 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new UsageError(`${name} already exists here; init never overwrites${written.length ? ` (wrote ${written.join(', ')})` : ''}`);
      }
      throw error;
    }
    await handle.writeFile(content);
    await handle.close();
    written.push(name);
  }
  return written;
}
