// A complete custom tracker: each queue is a folder, each task a JSON file in it.
// Use it with:
//   [backend]
//   type = "module"
//   path = "examples/custom-adapter/folder-tracker.mjs"
//   url = "tasks"            # the root folder, relative to the config file
//
// A module backend default-exports a factory (context) => adapter. The adapter has the seven
// methods of adapters/types.ts (TrackerAdapter). Errors carry a `kind` so the dispatcher can tell
// "not found" (exit code 4, HTTP 404) from "unavailable" (exit code 3, HTTP 503). An error about a
// queue that does not exist also names it (`queue`): the dispatcher then pauses only the routes
// using that queue instead of failing the whole poll.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

class TrackerError extends Error {
  constructor(kind, message, queue) {
    super(message);
    this.kind = kind;
    if (queue !== undefined) this.queue = queue;
  }
}

/** Queue names become folder names: keep them to letters, digits, spaces, dots, dashes. */
function folderOf(root, queue) {
  if (!/^[\w .-]+$/.test(queue) || /^\.+$/.test(queue)) throw new TrackerError('not_found', `no queue "${queue}"`, queue);
  return join(root, queue);
}

/** @param {{ options: { url?: string }, baseDir: string }} context */
export default function createFolderTracker(context) {
  const root = resolve(context.baseDir, context.options.url ?? 'tasks');

  async function queues() {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  }

  async function locate(id) {
    if (!/^\d+$/.test(id)) throw new TrackerError('not_found', `no task "${id}"`);
    for (const queue of await queues()) {
      const file = join(root, queue, `${id}.json`);
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) return { queue, file, data: JSON.parse(text) };
    }
    throw new TrackerError('not_found', `no task "${id}"`);
  }

  async function existingQueue(queue) {
    const folder = folderOf(root, queue);
    if (!(await queues()).includes(queue)) throw new TrackerError('not_found', `no queue "${queue}"`, queue);
    return folder;
  }

  const toTask = ({ queue, data }) => ({
    id: data.id,
    name: data.name,
    description: data.description ?? '',
    queue,
    labels: data.labels ?? [],
    assignees: data.assignees ?? [],
    comments: data.comments ?? [],
    url: '',
    createdAt: data.createdAt ?? '',
  });

  const save = (file, data) => writeFile(file, JSON.stringify(data, null, 2));

  return {
    async getReadyTasks(queueNames) {
      const tasks = [];
      for (const queue of queueNames) {
        const folder = await existingQueue(queue);
        for (const name of await readdir(folder)) {
          if (name.endsWith('.json')) tasks.push(toTask({ queue, data: JSON.parse(await readFile(join(folder, name), 'utf8')) }));
        }
      }
      return tasks;
    },
    async getTask(id) {
      return toTask(await locate(id));
    },
    async moveTask(id, targetQueue) {
      const found = await locate(id);
      const folder = await existingQueue(targetQueue);
      await rename(found.file, join(folder, `${id}.json`));
    },
    async addComment(id, text) {
      const found = await locate(id);
      found.data.comments = [...(found.data.comments ?? []), { author: 'dispatcher', text, createdAt: new Date().toISOString() }];
      await save(found.file, found.data);
    },
    async updateTask(id, update) {
      const found = await locate(id);
      for (const key of ['name', 'description', 'labels', 'assignees']) if (update[key] !== undefined) found.data[key] = update[key];
      await save(found.file, found.data);
    },
    async createTask(queueName, name, description) {
      const folder = await existingQueue(queueName);
      await mkdir(folder, { recursive: true });
      const ids = [];
      for (const queue of await queues()) for (const file of await readdir(join(root, queue))) ids.push(Number.parseInt(file, 10) || 0);
      const data = { id: String(Math.max(0, ...ids) + 1), name, description, labels: [], assignees: [], comments: [], createdAt: new Date().toISOString() };
      await save(join(folder, `${data.id}.json`), data);
      return toTask({ queue: queueName, data });
    },
    async whoami() {
      return 'dispatcher';
    },
  };
}
