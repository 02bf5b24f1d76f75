import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';

const CONFIG = `# dispatcher configuration: https://github.com/ (see docs/configuration.md for every key)
poll_interval = 30            # seconds between polls
max_concurrent_agents = 3     # agents running at once, across all routes
# default_agent_timeout = 3600  # seconds; TERM, then KILL after kill_grace
api_host = "127.0.0.1"        # the local API agents talk to
api_port = 8000

[backend]
type = "json"                 # "json", "planka", "gitea" or "module"
url = "board.json"            # relative to this file

[routing."Todo"]
command = "echo"              # any program; never run through a shell
args = ["Working on task {task_id}: {task_name}"]
in_progress_queue = "In Progress"
# timeout = 1800
# on_success_queue = "Done"
# on_failure_queue = "Todo"
`;

const BOARD = `${JSON.stringify({ queues: { Todo: [], 'In Progress': [], Done: [] } }, null, 2)}\n`;

/** Writes dispatcher.toml and board.json; refuses to overwrite either. */
export async function initProject(folder: string): Promise<string[]> {
  const files: Array<[string, string]> = [
    ['dispatcher.toml', CONFIG],
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
