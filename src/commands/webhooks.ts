import { createTracker } from '../../adapters/registry.ts';
import type { InstalledWebhook, TrackerAdapter, WebhookAdmin, WebhookChange } from '../../adapters/types.ts';
import { requireBackend, routedQueues } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { ConfigError, UsageError } from '../errors.ts';
import type { CommandContext } from './context.ts';

/** `dispatcher webhooks install|list|remove`: the tracker's webhook pointing at this dispatcher's receiver. */

interface Setup {
  tracker: TrackerAdapter;
  admin: WebhookAdmin;
  kind: 'gitea' | 'planka';
  /** Gitea: the routed repositories; Planka: none (its webhooks are global). */
  scopes: string[];
}

async function open(context: CommandContext): Promise<Setup> {
  const config = context.config();
  const backend = config.backend ?? config.dispatchFile?.backend;
  if (!backend) requireBackend(config);
  const kind = backend!.type;
  if (kind !== 'gitea' && kind !== 'planka') throw new UsageError(`the ${kind} backend has no webhooks; its tasks are found by the poll (and \`dispatcher refresh\`)`);
  const tracker = await createTracker({ options: backend!, baseDir: config.baseDir, env: config.env, log: context.log, queues: routedQueues(config) });
  if (!tracker.webhooks) {
    await tracker.close?.();
    throw new UsageError(`the ${kind} backend cannot manage webhooks`);
  }
  return { tracker, admin: tracker.webhooks, kind, scopes: kind === 'gitea' ? giteaRepos(config) : [] };
}

/** The repositories the routes (and dispatch-file's `repos`) name: where the Gitea webhooks go. */
function giteaRepos(config: Config): string[] {
  const repos = new Map<string, string>();
  for (const name of [...routedQueues(config).map((queue) => queue.split(':')[0]), ...(config.dispatchFile?.repos ?? [])]) repos.set(name.toLowerCase(), name);
  if (repos.size === 0) throw new ConfigError(`${config.file ?? 'config'}: no Gitea repository to put a webhook on: the routes (or dispatch_file.repos) name none`);
  return [...repos.values()].sort();
}

/** `--url` is the receiver's address as the tracker reaches it; `/hooks/<tracker>` is added unless given. */
function receiverUrl(url: string | undefined, kind: Setup['kind']): string {
  if (!url) throw new UsageError('give the address the tracker reaches the dispatcher at: --url https://dispatcher.example.com (the path /hooks/' + kind + ' is added)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL (e.g. https://dispatcher.example.com)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url "${url}" must start with http:// or https://`);
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.origin}${path.endsWith(`/hooks/${kind}`) ? path : `${path}/hooks/${kind}`}`;
}

function secretOf(config: Config, kind: Setup['kind']): string {
  const webhooks = config.webhooks;
  const secret = kind === 'gitea' ? webhooks?.giteaSecret : webhooks?.plankaToken;
  const variable = kind === 'gitea' ? (webhooks?.giteaSecretEnv ?? 'GITEA_WEBHOOK_SECRET') : (webhooks?.plankaTokenEnv ?? 'PLANKA_WEBHOOK_TOKEN');
  if (!secret) throw new ConfigError(`set ${variable} (in the environment or .env) first: the same secret goes to the tracker and to the dispatcher's receiver`);
  return secret;
}

async function withSetup<T>(context: CommandContext, work: (setup: Setup) => Promise<T>): Promise<T> {
  const setup = await open(context);
  try {
    return await work(setup);
  } finally {
    await setup.tracker.close?.();
  }
}

const verbs: Record<WebhookChange['action'], [string, string]> = {
  created: ['created', 'would create'],
  updated: ['updated', 'would update'],
  unchanged: ['unchanged', 'unchanged'],
  removed: ['removed', 'would remove'],
};

function renderChanges(changes: WebhookChange[], dryRun: boolean, none: string): string {
  if (changes.length === 0) return none;
  return changes.map((change) => `${change.scope}: ${verbs[change.action][dryRun ? 1 : 0]} ${change.url}${change.id ? ` (webhook ${change.id})` : ''}`).join('\n');
}

export async function installWebhooks(context: CommandContext, options: { url?: string; dryRun: boolean }) {
  const config = context.config();
  return withSetup(context, async ({ admin, kind, scopes }) => {
    const url = receiverUrl(options.url, kind);
    const changes = await admin.install({ url, secret: secretOf(config, kind), scopes }, options.dryRun);
    return { json: { tracker: kind, url, dryRun: options.dryRun, changes }, text: renderChanges(changes, options.dryRun, 'nothing to do') };
  });
}

export async function listWebhooks(context: CommandContext) {
  return withSetup(context, async ({ admin, kind, scopes }) => {
    const webhooks: InstalledWebhook[] = await admin.list(scopes);
    const text = webhooks.length === 0 ? `no webhooks on ${kind === 'gitea' ? scopes.join(', ') : 'this Planka'}` : webhooks.map((hook) => `${hook.scope}: ${hook.url}  events ${hook.events.join(',') || '-'}${hook.active ? '' : '  (inactive)'}  (webhook ${hook.id})`).join('\n');
    return { json: { tracker: kind, webhooks }, text };
  });
}

export async function removeWebhooks(context: CommandContext, options: { url?: string; dryRun: boolean }) {
  return withSetup(context, async ({ admin, kind, scopes }) => {
    const url = receiverUrl(options.url, kind);
    const changes = await admin.remove({ url, scopes }, options.dryRun);
    return { json: { tracker: kind, url, dryRun: options.dryRun, changes }, text: renderChanges(changes, options.dryRun, `no webhook points at ${url}`) };
  });
}
