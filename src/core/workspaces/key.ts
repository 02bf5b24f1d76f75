import { createHash } from 'node:crypto';

/**
 * A task's workspace key: the name of its folder under the root, and what `{task_id}` becomes in a
 * branch name. An id that is already a harmless name is used as it is; any other gets a readable
 * part plus a hash of the whole id, so two ids never share a key and none escapes the root or
 * makes a bad git ref: `a/b`, `../../etc`, `.git`, `CON`, a newline, 300 characters.
 */
export function workspaceKey(id: string): string {
  if (id.length <= MAX_PLAIN && PLAIN.test(id) && !RESERVED.test(id)) return id;
  const readable = id
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '')
    .slice(0, READABLE);
  const hash = createHash('sha256').update(id).digest('hex').slice(0, HASH);
  return readable ? `${readable}-${hash}` : hash;
}

const MAX_PLAIN = 64;
const READABLE = 40;
const HASH = 12;
/** Letters, digits, `_`, `-`, and single dots inside: no `..`, no leading or trailing dot. */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;
/** Device names some systems refuse as file names, and what git refuses at the end of a ref. */
const RESERVED = /^(?:con|prn|aux|nul|com\d|lpt\d)(?:\..*)?$|\.lock$/i;
