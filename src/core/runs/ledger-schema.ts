import * as v from 'valibot';
import { type LedgerData, RUN_STATUSES } from './ledger.ts';

/**
 * What a ledger must look like to be trusted: the fields the dispatcher counts slots, adopts and
 * settles by. Loose objects: fields this version does not know (a newer one's) are kept as they are.
 */
const text = v.string();
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const optionalNumber = v.optional(v.number());

const runStatus = v.picklist(RUN_STATUSES);

const owner = v.looseObject({ pid: count, instance: text });

const runRecord = v.looseObject({
  id: v.pipe(text, v.minLength(1)),
  taskId: text,
  route: text,
  status: runStatus,
  attempt: v.pipe(count, v.minValue(1)),
  maxAttempts: v.pipe(count, v.minValue(1)),
  createdAt: text,
  owner: v.optional(owner),
  pid: optionalNumber,
  pgid: v.optional(v.pipe(count, v.minValue(2))),
  deadline: optionalNumber,
  nextAttemptAt: optionalNumber,
});

const ledgerSchema = v.looseObject({
  version: v.literal(1),
  runs: v.array(runRecord),
  daemons: v.optional(v.array(v.looseObject({ pid: count, instance: text, startedAt: text, mode: text })), []),
  lastApiPort: optionalNumber,
});

/** Why a ledger's text cannot be trusted, in a few words; undefined when it can. */
export type LedgerCheck = { ok: true; data: LedgerData } | { ok: false; problem: string };

export function checkLedger(text: string): LedgerCheck {
  if (text.trim() === '') return { ok: false, problem: 'it is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `it is not valid JSON: ${(error as Error).message}` };
  }
  const result = v.safeParse(ledgerSchema, json);
  if (result.success) return { ok: true, data: result.output as unknown as LedgerData };
  const issue = result.issues[0];
  const where = v.getDotPath(issue);
  return { ok: false, problem: `${where ? `${where}: ` : ''}${issue.message}` };
}
