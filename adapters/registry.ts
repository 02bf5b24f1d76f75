import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import { AdapterError, type AdapterErrorKind, ConfigError } from '../src/errors.ts';
import createJsonTracker from './json/index.ts';
import type { AgentFactory, TrackerAdapter, TrackerContext, TrackerFactory } from './types.ts';

/** Every tracker type, loaded lazily so a command only pays for the adapter it uses. */
const trackers: Record<string, () => Promise<TrackerFactory>> = {
  json: async () => createJsonTracker,
  planka: async () => (await import('./planka/index.ts')).default,
  gitea: async () => (await import('./gitea/index.ts')).default,
  api: async () => (await import('./api/index.ts')).default,
  module: async () => loadModuleFactory,
};

const agents: Record<string, () => Promise<AgentFactory>> = {
  command: async () => (await import('./command/index.ts')).default,
  claude: async () => (await import('./claude/index.ts')).default,
  codex: async () => (await import('./codex/index.ts')).default,
};

export const trackerTypes = Object.keys(trackers);
export const agentKinds = Object.keys(agents) as Array<'command' | 'claude' | 'codex'>;

export async function createTracker(context: TrackerContext): Promise<TrackerAdapter> {
  const load = Object.hasOwn(trackers, context.options.type) ? trackers[context.options.type] : undefined;
  if (!load) {
    throw new ConfigError(`unknown backend type "${context.options.type}"; known types: ${trackerTypes.join(', ')}`);
  }
  const factory = await load();
  return factory(context);
}

/** Loaded once per process: an import() of a module already loaded still costs a trip through the loader, per run. */
const loadedAgents = new Map<string, Promise<AgentFactory>>();

export async function loadAgentFactory(kind: string): Promise<AgentFactory> {
  const load = Object.hasOwn(agents, kind) ? agents[kind] : undefined;
  if (!load) throw new ConfigError(`unknown agent "${kind}"; known agents: ${agentKinds.join(', ')}`);
  let loading = loadedAgents.get(kind);
  if (!loading) {
    loading = load();
    loadedAgents.set(kind, loading);
    loading.catch(() => loadedAgents.delete(kind));
  }
  return loading;
}

/** `[backend] type = "module"`: the user's own ES module whose default export is a TrackerFactory. */
async function loadModuleFactory(context: TrackerContext): Promise<TrackerAdapter> {
  const path = context.options.path;
  if (typeof path !== 'string' || path === '') {
    throw new ConfigError('backend.path: a module backend needs `path`, the file of your adapter module');
  }
  const file = isAbsolute(path) ? path : resolve(context.baseDir, path);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new ConfigError(`backend.path: cannot load adapter module ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof module.default !== 'function') {
    throw new ConfigError(`backend.path: ${file} must export a default function (context) => adapter`);
  }
  const adapter = await (module.default as TrackerFactory)(context);
  const missing = ['getReadyTasks', 'getTask', 'moveTask', 'addComment', 'updateTask', 'createTask', 'whoami'].filter(
    (name) => typeof (adapter as unknown as Record<string, unknown>)?.[name] !== 'function',
  );
  if (missing.length > 0) throw new ConfigError(`backend.path: the adapter from ${file} lacks ${missing.join(', ')}`);
  return withAdapterErrors(adapter);
}

const kinds = new Set<string>(['auth', 'not_found', 'conflict', 'invalid', 'rate_limited', 'unavailable', 'bad_response']);

/** A user's adapter throws plain errors with a `kind` (and `queue` when a queue is missing); the dispatcher needs AdapterErrors. */
function withAdapterErrors(adapter: TrackerAdapter): TrackerAdapter {
  const wrapped = { ...adapter } as unknown as Record<string, unknown>;
  for (const [name, method] of Object.entries(adapter)) {
    if (typeof method !== 'function') continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => unknown).apply(adapter, args);
      } catch (error) {
        if (error instanceof AdapterError) throw error;
        const { kind, queue } = (error ?? {}) as { kind?: unknown; queue?: unknown };
        throw new AdapterError(typeof kind === 'string' && kinds.has(kind) ? (kind as AdapterErrorKind) : 'unavailable', (error as Error)?.message ?? String(error), {
          cause: error,
          queue: typeof queue === 'string' ? queue : undefined,
        });
      }
    };
  }
  return wrapped as unknown as TrackerAdapter;
}
