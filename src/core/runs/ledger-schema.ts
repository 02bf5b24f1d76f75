import * as v from 'valibot';
import { type LedgerData, RUN_STATUSES } from './ledger.ts';

/**
 * What a ledger must look like to be trusted: the fields the dispatcher counts slots, adopts and
 * settles by. Loose objects: fields this version does not know (a newer one's) are kept as they are.
 */
const text = v.string();
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const optionalNumber = v.optional(v.number());

const owner = v.looseObject({ pid: count, instance: text });

/** Built on first use: ledger.ts, which holds RUN_STATUSES, imports this module. */
function buildSchema() {
  const runRecord = v.looseObject({
    id: v.pipe(text, v.minLength(1)),
    taskId: text,
    route: text,
    status: v.picklist(RUN_STATUSES),
    attempt: v.pipe(count, v.minValue(1)),
    maxAttempts: v.pipe(count, v.minValue(1)),
    createdAt: text,
    owner: v.optional(owner),
    pid: optionalNumber,
    pgid: v.optional(v.pipe(count, v.minValue(2))),
    deadline: optionalNumber,
    nextAttemptAt: optionalNumber,
  });
  return v.looseObject({
    version: v.literal(1),
    runs: v.array(runRecord),
    daemons: v.optional(v.array(v.looseObject({ pid: count, instance: text, startedAt: text, mode: text })), []),
    lastApiPort: optionalNumber,
  });
}
let ledgerSchema: ReturnType<typeof buildSchema> | undefined;

/** The ledger's data, or why its text cannot be trusted, in a few words. */
export type LedgerCheck = { ok: true; data: LedgerData } | { ok: false; problem: string };

export function checkLedger(text: string): LedgerCheck {
  if (text.trim() === '') return { ok: false, problem: 'it is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `it is not valid JSON: ${(error as Error).message}` };
  }
  ledgerSchema ??= buildSchema();
  const result = v.safeParse(ledgerSchema, json);
  if (result.success) return { ok: true, data: result.output as unknown as LedgerData };
  const issue = result.issues[0];
  const where = v.getDotPath(issue);
  return { ok: false, problem: `${where ? `${where}: ` : ''}${issue.message}` };
}
