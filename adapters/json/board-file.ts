import { AdapterError } from '../../src/errors.ts';
import { JsonFileStore } from '../../src/util/json-file-store.ts';
import { decodeUtf8, lineAndColumn, offsetOfPath } from './positions.ts';

/** A raw task as stored; fields we do not know are kept as they are. */
export type RawTask = Record<string, unknown> & { id: string | number; name?: string };
export interface Board {
  queues: Record<string, RawTask[]>;
  [key: string]: unknown;
}

/** The board file; reads see the old or the new content, never a torn one. A missing file is 'unavailable'. */
export function openBoardFile(path: string): JsonFileStore<Board> {
  return new JsonFileStore<Board>(path, {
    parse: (text) => parseBoard(path, text),
    decode: (bytes) => decodeBoard(path, bytes),
    // A board that is not there is a tracker that cannot be reached, not an empty one: a board being
    // replaced or renamed away must not read as "no tasks", nor be written afresh.
    empty: () => {
      throw new AdapterError('unavailable', `board file ${path} does not exist (renamed or deleted? \`dispatcher init\` writes a new one)`);
    },
    serialize: (board) => `${JSON.stringify(board, null, 2)}\n`,
  });
}

export async function readBoard(store: JsonFileStore<Board>): Promise<Board> {
  try {
    return await store.read();
  } catch (error) {
    if (error instanceof AdapterError) throw error;
    throw new AdapterError('unavailable', `cannot read board file ${store.path}: ${(error as Error).message}`, { cause: error });
  }
}

export function parseBoard(path: string, text: string): Board {
  // A byte-order mark, as some editors on Windows save it, is not content (and is not written back).
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const malformed = (offset: number | undefined, what: string) =>
    new AdapterError('bad_response', `board file ${path}${offset === undefined ? '' : ` at ${lineAndColumn(json, offset)}`}: ${what}`);
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    const message = (error as Error).message;
    const at = /position (\d+)/.exec(message);
    // An empty or truncated file has no position in the message: it ends too early.
    const offset = at ? Number(at[1]) : json.length;
    throw new AdapterError('bad_response', `board file ${path} is not valid JSON at ${lineAndColumn(json, offset)}: ${message}`, { cause: error });
  }
  const queues = (data as Board | null)?.queues;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof queues !== 'object' || queues === null || Array.isArray(queues)) {
    const offset = typeof data === 'object' && data !== null && !Array.isArray(data) && Object.hasOwn(data, 'queues') ? offsetOfPath(json, ['queues']) : offsetOfPath(json, []);
    throw malformed(offset, 'must be an object with a "queues" object (e.g. {"queues": {"Todo": []}})');
  }
  const seen = new Map<string, { queue: string; index: number }>();
  const place = (queue: string, index: number) => `queue ${JSON.stringify(queue)}, task ${index + 1} (${lineAndColumn(json, offsetOfPath(json, ['queues', queue, index]) ?? 0)})`;
  for (const [name, tasks] of Object.entries(queues)) {
    if (!Array.isArray(tasks)) throw malformed(offsetOfPath(json, ['queues', name]), `queue ${JSON.stringify(name)} must be a list of tasks`);
    tasks.forEach((task, index) => {
      if (typeof task !== 'object' || task === null || (typeof task.id !== 'string' && typeof task.id !== 'number')) {
        throw malformed(offsetOfPath(json, ['queues', name, index]), `queue ${JSON.stringify(name)}, task ${index + 1} needs an "id"`);
      }
      const id = String(task.id);
      const first = seen.get(id);
      if (first) throw malformed(undefined, `task id ${JSON.stringify(id)} appears twice: ${place(first.queue, first.index)} and ${place(name, index)}`);
      seen.set(id, { queue: name, index });
    });
  }
  return data as Board;
}

/** The board's bytes as text; bytes that are not UTF-8 make the board malformed (never rewritten). */
export function decodeBoard(path: string, bytes: Buffer): string {
  const decoded = decodeUtf8(bytes);
  if ('invalidAt' in decoded) {
    const bom = decoded.text.charCodeAt(0) === 0xfeff ? 1 : 0;
    throw new AdapterError('bad_response', `board file ${path} at ${lineAndColumn(decoded.text.slice(bom), decoded.invalidAt - bom)}: not valid UTF-8 (save the board as UTF-8)`);
  }
  return decoded.text;
}
