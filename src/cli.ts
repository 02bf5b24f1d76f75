import { Command, CommanderError, Option } from 'commander';
import { AdapterError, ConfigError, DamagedLedgerError, DatabaseError, DispatcherError, ExitError, UsageError, type TrackerFailure } from './errors.ts';
import { redact } from './util/redact.ts';
import { escapeControls, forLog } from './util/printable.ts';
import { MAX_SECONDS } from './config/schema.ts';
import { createContext, type CommandContext, type GlobalOptions } from './commands/context.ts';
import * as taskCommands from './commands/task.ts';

/**
 * Commander wiring only. Each action lazily imports its command module, so `task show` never
 * loads the router or the HTTP server. This file alone decides exit codes and prints errors.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, notFound: 4, credentials: 5 } as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof DamagedLedgerError) return EXIT.usage;
  if (error instanceof AdapterError) return exitCodeForTracker(error);
  if (error instanceof DatabaseError) return exitCodeForDatabase(error.kind);
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.failed;
}

/**
 * A tracker failure: credentials refused (401, or none the tracker takes), unreachable, not found,
 * or refused for another reason (403 included: the credentials are fine, the right is missing).
 */
export function exitCodeForTracker({ kind, status }: TrackerFailure | { kind: 'unknown'; status?: undefined }): number {
  if (kind === 'auth') return status === 403 ? EXIT.failed : EXIT.credentials;
  if (kind === 'not_found') return EXIT.notFound;
  if (kind === 'unavailable' || kind === 'rate_limited') return EXIT.unavailable;
  return EXIT.failed;
}

/** The [coordination] database: unreachable is 3 and refused credentials 5, as for a tracker. */
export function exitCodeForDatabase(kind: DatabaseError['kind']): number {
  return kind === 'unavailable' ? EXIT.unavailable : kind === 'auth' ? EXIT.credentials : EXIT.failed;
}

type Printable = { json: unknown; text: string };

/** Two-stage SIGINT/SIGTERM for the daemons; a forced stop exits 130 from here. */
async function stopSignals(onFirst?: (signal: NodeJS.Signals) => void) {
  const { listenForStop } = await import('./commands/stop-signals.ts');
  return listenForStop(() => process.exit(130), onFirst);
}

async function context(command: Command): Promise<CommandContext> {
  return createContext(command.optsWithGlobals() as GlobalOptions);
}

function print(command: Command, result: Printable): void {
  const { json } = command.optsWithGlobals() as GlobalOptions;
  // Tracker text in a report (a title in `status`, `poll-once`) shows its terminal escapes, never plays them.
  process.stdout.write(json ? `${JSON.stringify(result.json, null, 2)}\n` : `${escapeControls(result.text)}\n`);
}

function drainSeconds(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > MAX_SECONDS) throw new UsageError(`--drain must be a number of seconds from 0 to ${MAX_SECONDS}, not "${text}"`);
  return value;
}

const examples = (lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;

export function buildProgram(): Command {
  const program = new Command('dispatcher')
    .description('Connects task trackers (Planka, a JSON board, Gitea) to AI coding agents.')
    .version(process.env.DISPATCHER_VERSION ?? '0.1.0', '-V, --version')
    .option('-c, --config <path>', 'config file (default: $DISPATCHER_CONFIG, ./dispatcher.toml, ./pyproject.toml)')
    .option('--json', 'print exactly one JSON document on stdout')
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['auto', 'plain', 'json']).default('auto'))
    .option('-q, --quiet', 'log errors only')
    .option('-v, --verbose', 'log debug detail (agent output, requests)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .addHelpText('after', examples(['dispatcher init', 'dispatcher run', 'dispatcher poll-once --dry-run', 'dispatcher task comment 42 "Working on it"', 'dispatcher status --json']));

  program
    .command('init')
    .description('write a commented dispatcher.toml and an empty board.json into the current folder')
    .addOption(new Option('--agent <kind>', 'the route runs this agent, set up to work unattended (docs/agents.md)').choices(['command', 'claude', 'codex']).default('command'))
    .addHelpText('after', examples(['dispatcher init', 'dispatcher init --agent claude', 'dispatcher run']))
    .action(async (options, command: Command) => {
      const { initProject } = await import('./commands/init.ts');
      const written = await initProject(process.cwd(), options.agent);
      print(command, { json: { written }, text: `wrote ${written.join(' and ')}\nnext: edit dispatcher.toml, then run \`dispatcher run\`` });
    });

  program
    .command('config')
    .description('inspect the configuration')
    .command('check')
    .description('validate the config and print the effective settings, secrets redacted')
    .addHelpText('after', examples(['dispatcher config check', 'dispatcher config check --json --config ./pyproject.toml']))
    .action(async (_options, command: Command) => {
      const { checkConfig } = await import('./commands/config-check.ts');
      print(command, await checkConfig((await context(command)).config()));
    });

  registerTaskCommands(program);

  program
    .command('run')
    .description('run the dispatcher in the foreground: poll queues, claim tasks, start agents, serve the agent API')
    .option('--drain <seconds>', 'on SIGINT/SIGTERM, wait this long for running agents', '30')
    .option('--stop-agents', 'on SIGINT/SIGTERM, stop running agents (TERM, then KILL) instead of waiting')
    .option('--share-state-dir', 'start even though another `dispatcher run` uses the same state_dir (refused otherwise)')
    .addHelpText('after', examples(['dispatcher run', 'dispatcher run --config examples/dispatcher.toml --drain 60', 'dispatcher run --stop-agents --log-format json']))
    .action(async (options, command: Command) => {
      const { runDaemon } = await import('./commands/run.ts');
      const stop = await stopSignals();
      try {
        await runDaemon(await context(command), { drainSeconds: drainSeconds(options.drain), stopAgents: Boolean(options.stopAgents), shareStateDir: Boolean(options.shareStateDir), stop });
      } finally {
        stop.dispose();
      }
    });

  program
    .command('poll-once')
    .description('one tick (for cron): claim ready tasks and start their agents, then wait for them unless --detach')
    .option('--detach', 'leave agents running in their own process groups; the next poll-once or run enforces their deadlines')
    .option('--dry-run', 'print what would be dispatched and change nothing')
    .addHelpText('after', examples(['dispatcher poll-once', '*/5 * * * * cd /srv/agents && dispatcher poll-once --detach', 'dispatcher poll-once --dry-run --json']))
    .action(async (options, command: Command) => {
      const { pollOnce } = await import('./commands/poll-once.ts');
      const result = await pollOnce(await context(command), { detach: Boolean(options.detach), dryRun: Boolean(options.dryRun) });
      print(command, result);
      if (!result.ok) throw new ExitError(result.trackerError ? exitCodeForTracker(result.trackerError) : EXIT.failed);
    });

  program
    .command('dispatch-file')
    .description('write open assigned Gitea issues as per-assignee markdown task files, by priority, under a rate limit, with a dashboard')
    .option('--once', 'one cycle, then exit (for cron)')
    .option('--dry-run', 'print what would be written and write nothing')
    .addHelpText('after', examples(['dispatcher dispatch-file', 'dispatcher dispatch-file --once', 'dispatcher dispatch-file --once --dry-run --json']))
    .action(async (options, command: Command) => {
      const { runDispatchFile } = await import('./commands/dispatch-file-cli.ts');
      const stop = await stopSignals((signal) => process.stderr.write(`dispatcher: ${signal}: stopping after the current cycle (send again to leave now)\n`));
      let result;
      try {
        result = await runDispatchFile(await context(command), { once: Boolean(options.once), dryRun: Boolean(options.dryRun), stop });
      } finally {
        stop.dispose();
      }
      if (result) print(command, result);
      if (result && !result.ok) {
        const { databaseDown, trackerDown } = result.json;
        throw new ExitError(databaseDown ? exitCodeForDatabase(databaseDown) : trackerDown ? exitCodeForTracker(trackerDown) : EXIT.failed);
      }
    });

  const workspaces = program.command('workspaces').description("the tasks' workspaces ([workspace]): list them, remove those no longer needed");
  workspaces
    .command('list')
    .description('each workspace: its task and where the task is now, size on disk, last run, whether an agent is in it')
    .addHelpText('after', examples(['dispatcher workspaces list', 'dispatcher workspaces list --json']))
    .action(async (_options, command: Command) => {
      const { listWorkspacesCommand } = await import('./commands/workspaces.ts');
      print(command, await listWorkspacesCommand(await context(command)));
    });
  workspaces
    .command('prune')
    .description('remove the workspaces whose task is in a remove_when_in queue or no longer exists (never one in use)')
    .option('--dry-run', 'say what would be removed and remove nothing')
    .addHelpText('after', examples(['dispatcher workspaces prune --dry-run', 'dispatcher workspaces prune']))
    .action(async (options, command: Command) => {
      const { pruneWorkspacesCommand } = await import('./commands/workspaces.ts');
      const result = await pruneWorkspacesCommand(await context(command), { dryRun: Boolean(options.dryRun) });
      print(command, result);
      if (!result.ok) throw new ExitError(EXIT.failed);
    });

  const webhooks = program
    .command('webhooks')
    .description('the tracker\'s webhook pointing at this dispatcher (Gitea: each routed repository; Planka 2.x: the instance, admin only)')
    .addHelpText('after', examples(['dispatcher webhooks install --url https://dispatcher.example.com --dry-run', 'dispatcher webhooks list', 'dispatcher webhooks remove --url https://dispatcher.example.com']));
  webhooks
    .command('install')
    .description('create the webhook, or fix it; a second run changes nothing')
    .option('--url <url>', 'where the tracker reaches the dispatcher (/hooks/gitea or /hooks/planka is added)')
    .option('--dry-run', 'say what would change and change nothing')
    .action(async (options, command: Command) => {
      const { installWebhooks } = await import('./commands/webhooks.ts');
      print(command, await installWebhooks(await context(command), { url: options.url, dryRun: Boolean(options.dryRun) }));
    });
  webhooks
    .command('list')
    .description('the webhooks on the tracker (Gitea: of the routed repositories)')
    .action(async (_options, command: Command) => {
      const { listWebhooks } = await import('./commands/webhooks.ts');
      print(command, await listWebhooks(await context(command)));
    });
  webhooks
    .command('remove')
    .description('remove the webhooks that point at the dispatcher')
    .option('--url <url>', 'the address given to install')
    .option('--dry-run', 'say what would be removed and remove nothing')
    .action(async (options, command: Command) => {
      const { removeWebhooks } = await import('./commands/webhooks.ts');
      print(command, await removeWebhooks(await context(command), { url: options.url, dryRun: Boolean(options.dryRun) }));
    });

  program
    .command('refresh')
    .description('ask the running `dispatcher run` for a tick now (poll and dispatch without waiting for poll_interval); returns once the tick has started')
    .addHelpText('after', examples(['dispatcher refresh', 'dispatcher refresh --json']))
    .action(async (_options, command: Command) => {
      const { refresh } = await import('./commands/refresh.ts');
      print(command, await refresh(await context(command)));
    });

  program
    .command('reload')
    .description('the running `dispatcher run` reads its config again (as on SIGHUP): routes, limits, timeouts and budgets apply at the next tick; an invalid config is refused')
    .addHelpText('after', examples(['dispatcher reload', 'kill -HUP <pid of dispatcher run>']))
    .action(async (_options, command: Command) => {
      const { reload } = await import('./commands/reload.ts');
      print(command, await reload(await context(command)));
    });

  program
    .command('stop')
    .argument('<id>', 'a task id (its running agent) or a run id')
    .option('--reason <text>', 'why; said in the comment on the task')
    .option('--release', 'move the task back to its watched queue once the agent is gone (else it stays in progress)')
    .description('stop a running agent (TERM, grace, KILL to its process group), whichever dispatcher process supervises it')
    .addHelpText('after', examples(['dispatcher stop 42 --reason "wrong approach; see my comment"', 'dispatcher stop 42 --release', 'dispatcher stop lq3x9a-1b2c3d4e --json']))
    .action(async (id: string, options, command: Command) => {
      const { stopAgent } = await import('./commands/stop.ts');
      print(command, await stopAgent(await context(command), id, { reason: options.reason, release: Boolean(options.release) }));
    });

  program
    .command('mcp')
    .description('serve the task tools (show, comment, move, update, create, list) over MCP on stdio, through the running dispatcher\'s API with the run\'s token')
    .addHelpText('after', examples(['claude -p "…" --mcp-config \'{"mcpServers":{"dispatcher":{"command":"dispatcher","args":["mcp"]}}}\'', 'DISPATCHER_API_URL=http://127.0.0.1:8000 DISPATCHER_OPERATOR_TOKEN="$(cat .dispatcher/operator-token)" dispatcher mcp']))
    .action(async (_options, command: Command) => {
      const { serveMcp } = await import('./commands/mcp.ts');
      await serveMcp(await context(command));
    });

  program
    .command('ledger')
    .description('the ledger of active runs (<state_dir>/ledger.json)')
    .command('rebuild')
    .description('rebuild a damaged (or missing) ledger from what is true: live agents are adopted, tasks left in progress are settled at the next start; the old file is kept')
    .option('--dry-run', 'print what would be rebuilt and change nothing')
    .option('--force', 'replace a ledger that is fine')
    .addHelpText('after', examples(['dispatcher ledger rebuild --dry-run', 'dispatcher ledger rebuild', 'dispatcher ledger rebuild --force --json']))
    .action(async (options, command: Command) => {
      const { rebuildLedger } = await import('./commands/ledger-rebuild.ts');
      print(command, await rebuildLedger(await context(command), { dryRun: Boolean(options.dryRun), force: Boolean(options.force) }));
    });

  program
    .command('status')
    .description('running agents, free slots, last poll and recent runs, from the ledger (works while a daemon runs elsewhere)')
    .addHelpText('after', examples(['dispatcher status', 'dispatcher status --json']))
    .action(async (_options, command: Command) => {
      const { showStatus } = await import('./commands/status.ts');
      print(command, await showStatus(await context(command)));
    });

  return program;
}

function registerTaskCommands(program: Command): void {
  const task = program
    .command('task')
    .description('read and change tasks: through the dispatcher API inside an agent (DISPATCHER_API_URL), else on the tracker directly')
    .addHelpText('after', examples(['dispatcher task show 42', 'dispatcher task comment 42 "Tests pass; opening a PR"', 'git log -1 | dispatcher task comment 42 -', 'dispatcher task move 42 Done']));
  const load = async () => taskCommands;

  task
    .command('show')
    .argument('[id]', 'task id (default: $DISPATCHER_TASK_ID)')
    .description('show a task with its description, labels, assignees and comments')
    .addHelpText('after', examples(['dispatcher task show 42', 'dispatcher task show "owner/repo#7" --json']))
    .action(async (id: string | undefined, _options, command: Command) => {
      const { showTask, renderTask } = await load();
      const result = await showTask(await context(command), id);
      print(command, { json: result, text: renderTask(result) });
    });

  task
    .command('comment')
    .argument('<id>', 'task id')
    .argument('<text>', 'the comment; - reads it from stdin')
    .description('add a comment to a task')
    .addHelpText('after', examples(['dispatcher task comment 42 "Found the cause: a race in the cache"', 'cat report.md | dispatcher task comment 42 -']))
    .action(async (id: string, text: string, _options, command: Command) => {
      const { commentTask } = await load();
      const result = await commentTask(await context(command), id, text);
      print(command, { json: result, text: `commented on ${id}` });
    });

  task
    .command('move')
    .argument('<id>', 'task id')
    .argument('<queue>', 'target queue')
    .description('move a task to another queue')
    .addHelpText('after', examples(['dispatcher task move 42 Done', 'dispatcher task move 42 "Proj.Board.Review"']))
    .action(async (id: string, queue: string, _options, command: Command) => {
      const { moveTask } = await load();
      const result = await moveTask(await context(command), id, queue);
      print(command, { json: result, text: `moved ${id} to ${result.queue}` });
    });

  task
    .command('update')
    .argument('<id>', 'task id')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--label <label...>', 'set the labels (repeatable)')
    .option('--assignee <user...>', 'set the assignees (repeatable)')
    .option('--clear-labels', 'remove every label')
    .option('--clear-assignees', 'remove every assignee')
    .description('change a task\'s name, description, labels or assignees')
    .addHelpText('after', examples(['dispatcher task update 42 --name "Fix login crash"', 'dispatcher task update 42 --label bug --label urgent --assignee alice']))
    .action(async (id: string, options, command: Command) => {
      const { updateTask, renderTask } = await load();
      const result = await updateTask(await context(command), id, options);
      print(command, { json: result, text: renderTask(result) });
    });

  task
    .command('create')
    .argument('<queue>', 'queue to create the task in')
    .argument('<name>', 'task name')
    .option('--description <text>', 'task description', '')
    .description('create a task')
    .addHelpText('after', examples(['dispatcher task create Todo "Write the changelog" --description "For 1.2"']))
    .action(async (queue: string, name: string, options, command: Command) => {
      const { createTask } = await load();
      const result = await createTask(await context(command), queue, name, options.description);
      print(command, { json: result, text: `created ${result.id} in ${result.queue}` });
    });

  task
    .command('list')
    .argument('<queue...>', 'one or more queues')
    .description('list the tasks in queues')
    .addHelpText('after', examples(['dispatcher task list Todo "In Progress"']))
    .action(async (queues: string[], _options, command: Command) => {
      const { listTasks, renderTaskList } = await load();
      const result = await listTasks(await context(command), queues);
      print(command, { json: result, text: renderTaskList(result) });
    });
}

function reportError(error: unknown, verbose: boolean, json: boolean): void {
  if (error instanceof ExitError) return;
  if (error instanceof CommanderError) return; // commander has printed it
  if (error instanceof DispatcherError) {
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: redact(error.message) } })}\n`);
    process.stderr.write(`dispatcher: ${forLog(redact(error.message))}\n`);
    if (error.detail) process.stderr.write(`${forLog(redact(error.detail))}\n`);
    if (verbose && error.cause) process.stderr.write(`${escapeControls(redact(String((error.cause as Error).stack ?? error.cause)))}\n`);
    return;
  }
  process.stderr.write(`dispatcher: unexpected error\n${forLog(redact(String((error as Error)?.stack ?? error)))}\n`);
}

/** Commands whose last argument is free text, and its place among their arguments. */
const TEXT_ARGUMENT = new Map([
  ['task comment', 1],
  ['task create', 1],
]);

/**
 * Agents write markdown: in `task comment ID TEXT` and `task create QUEUE NAME`, the text is text
 * whatever it starts with (`- item`, `--help`). Options before it, and after it, are options; the
 * text is moved behind a `--` so commander never reads it as one.
 */
export function protectText(program: Command, args: string[]): string[] {
  let command = program;
  let path = '';
  let operands = 0;
  const options = () => {
    const list: Option[] = [];
    for (let at: Command | null = command; at; at = at.parent) list.push(...at.options);
    return list;
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === '--') return args;
    const [flag, inlineValue] = arg.startsWith('--') ? arg.split(/=(.*)/s) : [arg];
    const option = arg.startsWith('-') ? options().find((candidate) => candidate.long === flag || candidate.short === flag) : undefined;
    if (option?.variadic) return args; // its values run to the next option: leave the line as it is
    if (option) {
      if ((option.required || option.optional) && inlineValue === undefined) index++;
      continue;
    }
    const isText = TEXT_ARGUMENT.get(path) === operands;
    if (isText) return [...args.slice(0, index), ...args.slice(index + 1), '--', arg];
    if (arg.startsWith('-') && arg !== '-') continue; // an unknown option: commander says so
    const sub = operands === 0 ? command.commands.find((candidate) => candidate.name() === arg) : undefined;
    if (sub) {
      command = sub;
      path = path ? `${path} ${arg}` : arg;
      continue;
    }
    operands++;
  }
  return args;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv.slice(0, 2), ...protectText(program, argv.slice(2))]);
  } catch (error) {
    const options = program.opts() as GlobalOptions;
    reportError(error, Boolean(options.verbose), Boolean(options.json));
    process.exitCode = exitCodeFor(error);
  }
}
