import { AdapterError } from '../../src/errors.ts';
import { JsonFileStore } from '../../src/util/json-file-store.ts';

/** A raw task as stored; fields we do not know are kept as they are. */
export type RawTask = Record<string, unknown> & { id: string | number; name?: string };
export interface Board {
  queues: Record<string, RawTask[]>;
  [key: string]: unknown;
}

/** The board file; reads see the old or the new content, never a torn one. */
export function openBoardFile(path: string): JsonFileStore<Board> {
  return new JsonFileStore<Board>(path, {
    parse: (text) => parseBoard(path, text),
    empty: () => ({ queues: {} }),
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
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new AdapterError('bad_response', `board file ${path} is not valid JSON${positionOf(json, error as Error)}: ${(error as Error).message}`, { cause: error });
  }
  const queues = (data as Board | null)?.queues;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof queues !== 'object' || queues === null || Array.isArray(queues)) {
    throw new AdapterError('bad_response', `board file ${path} must be an object with a "queues" object (e.g. {"queues": {"Todo": []}})`);
  }
  for (const [name, tasks] of Object.entries(queues)) {
    if (!Array.isArray(tasks)) throw new AdapterError('bad_response', `board file ${path}: queue "${name}" must be a list of tasks`);
    tasks.forEach((task, index) => {
      if (typeof task !== 'object' || task === null || (typeof task.id !== 'string' && typeof task.id !== 'number')) {
        throw new AdapterError('bad_response', `board file ${path}: queue "${name}", task ${index + 1} needs an "id"`);
      }
    });
  }
  return data as Board;
}

function positionOf(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return '';
  const offset = Number(match[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}

