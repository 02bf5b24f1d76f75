/**
 * Reads Claude Code's `--output-format stream-json --verbose` output, one event per line:
 * `system`/`init` (session id), `system`/`api_retry`, `assistant` messages and the final `result`.
 * Also reads the single result line of `--output-format json`. Unknown events are skipped.
 *
 * Numbers come from one source: `modelUsage` holds every request Claude made (the title request
 * too), and `total_cost_usd` is its sum; `usage` counts the main conversation only.
 */
import type { AgentLaunch, AgentOutputParser, AgentReport, PermissionDenial, TokenUsage } from '../types.ts';
import { resumeHint } from '../command/resume-hint.ts';
import {
  clipText,
  countField,
  isObject,
  isSafeSessionId,
  jsonEventLines,
  stringField,
  withoutUndefined,
  type JsonObject,
} from '../command/output-lines.ts';
import { sessionIdFromArgs } from './launch.ts';

interface ClaudeResult {
  failed: boolean;
  /** The model was asked at least once (a login or resume failure never asks it). */
  reachedModel: boolean;
  turns?: number;
  costUsd?: number;
  durationMs?: number;
  text?: string;
  error?: string;
  tokens?: TokenUsage;
  permissionDenials?: PermissionDenial[];
}

/** Where Claude keeps its sessions: a resume elsewhere finds none. */
const SESSION_ENV = ['CLAUDE_CONFIG_DIR'];
/** Denials listed in a report; more are counted, not kept. */
const MAX_DENIALS = 20;

const SUBTYPE_MEANING: Record<string, string> = {
  error_max_turns: 'reached the maximum number of turns',
  error_max_budget_usd: 'reached the maximum budget',
  error_during_execution: 'failed during execution',
  error_max_structured_output_retries: 'could not produce valid structured output',
};

export function createClaudeParser(launch: AgentLaunch): AgentOutputParser {
  const knownSessionId = sessionIdFromArgs(launch.args);
  let sessionId: string | undefined;
  let sawInit = false;
  let sawEvent = false;
  let result: ClaudeResult | undefined;
  let lastAssistantText: string | undefined;
  let apiRetries = 0;
  let lastApiRetryError: string | undefined;
  /** Tokens of every assistant message so far (one message spans several events): the usage before a result says it. */
  const messageUsage = new Map<string, TokenUsage>();

  function onEvent(event: JsonObject): void {
    const type = event.type;
    sawEvent = true;
    if (type === 'system') {
      if (event.subtype === 'init') sawInit = true;
      if (event.subtype === 'init' && isSafeSessionId(event.session_id)) sessionId = event.session_id;
      if (event.subtype === 'api_retry') {
        apiRetries += 1;
        lastApiRetryError = describeRetry(event);
      }
    } else if (type === 'assistant') {
      const text = assistantText(event);
      if (text) lastAssistantText = clipText(text);
      const message = isObject(event.message) ? event.message : undefined;
      const usage = message && readUsage(message.usage);
      if (usage) messageUsage.set(stringField(message, 'id') ?? String(messageUsage.size), usage);
    } else if (type === 'result') {
      const read = readResult(event);
      if (!read) return;
      result = read;
      if (isSafeSessionId(event.session_id)) sessionId = event.session_id;
    }
  }

  /**
   * Whether there is a session to resume: Claude printed its init event (stream-json), or a result
   * of a run that got as far as the model (`--output-format json` prints nothing else). A run that
   * ended before either (an unknown `--resume` id) has none. Without any output read (a run killed
   * before it printed), the id the dispatcher chose is all there is, and it is offered.
   */
  function hasSession(): boolean {
    if (sawInit) return true;
    if (result) return result.reachedModel && (result.turns ?? 0) > 0;
    return !sawEvent;
  }

  return {
    onLine: jsonEventLines(onEvent),
    report(): AgentReport {
      const id = sessionId ?? knownSessionId;
      const reached = result?.reachedModel !== false;
      return withoutUndefined({
        ok: result ? !result.failed : undefined,
        sessionId: id,
        turns: reached ? result?.turns : undefined,
        costUsd: reached ? result?.costUsd : undefined,
        durationMs: result?.durationMs,
        summary: result?.text ?? lastAssistantText,
        error: result?.error,
        resumeHint: id && hasSession() ? resumeHint(launch, SESSION_ENV, [`--resume=${id}`]) : undefined,
        tokens: result ? (reached ? result.tokens : undefined) : sumUsage(messageUsage.values()),
        apiRetries: apiRetries > 0 ? apiRetries : undefined,
        lastApiRetryError,
        permissionDenials: result?.permissionDenials,
      });
    },
  };
}

function readResult(event: JsonObject): ClaudeResult | undefined {
  const subtype = stringField(event, 'subtype');
  const isError = event.is_error;
  if (subtype === undefined && typeof isError !== 'boolean') return undefined;
  // Some versions report an error subtype with is_error false: the subtype is what counts.
  const failed = isError === true || (subtype !== undefined && subtype !== 'success');
  const resultText = stringField(event, 'result')?.trim() || undefined;
  const errors = Array.isArray(event.errors) ? event.errors.filter((item): item is string => typeof item === 'string') : [];
  let error: string | undefined;
  let text = resultText;
  if (failed) {
    if (errors.length > 0) error = errors.join('; ');
    else if (resultText) [error, text] = [resultText, undefined];
    else error = (subtype && SUBTYPE_MEANING[subtype]) ?? `Claude reported an error (${subtype ?? 'is_error'})`;
  }
  const costUsd = countField(event, 'total_cost_usd');
  const models = isObject(event.modelUsage) ? Object.values(event.modelUsage).filter(isObject) : undefined;
  return {
    failed,
    // An empty modelUsage and no cost: no request reached the model (older versions have no modelUsage).
    reachedModel: !(models?.length === 0 && !costUsd),
    turns: countField(event, 'num_turns'),
    costUsd,
    durationMs: countField(event, 'duration_ms') || undefined,
    text: text === undefined ? undefined : clipText(text),
    error: error === undefined ? undefined : clipText(error),
    tokens: models?.length ? sumModelUsage(models) : readUsage(event.usage),
    permissionDenials: readDenials(event.permission_denials),
  };
}

/** Every model's tokens, the requests besides the conversation included: what the cost is made of. */
function sumModelUsage(models: JsonObject[]): TokenUsage | undefined {
  let input = 0;
  let cachedInput = 0;
  let output = 0;
  for (const model of models) {
    const modelInput = countField(model, 'inputTokens');
    const modelOutput = countField(model, 'outputTokens');
    if (modelInput === undefined || modelOutput === undefined) return undefined;
    const cacheRead = countField(model, 'cacheReadInputTokens') ?? 0;
    input += modelInput + cacheRead + (countField(model, 'cacheCreationInputTokens') ?? 0);
    cachedInput += cacheRead;
    output += modelOutput;
  }
  return { input, cachedInput, output };
}

function readDenials(value: unknown): PermissionDenial[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const denials = value.filter(isObject).slice(0, MAX_DENIALS).map((denial) => {
    const input = describeToolInput(denial.tool_input);
    return withoutUndefined({ tool: clipText(stringField(denial, 'tool_name') ?? 'a tool', 200), input });
  });
  return denials.length > 0 ? denials : undefined;
}

/** The part of a tool's input that says what it would have done: a command, a path, a URL. */
function describeToolInput(input: unknown): string | undefined {
  if (!isObject(input)) return undefined;
  for (const key of ['command', 'file_path', 'path', 'url', 'pattern']) {
    const value = stringField(input, key);
    if (value?.trim()) return clipText(value.replace(/\s+/g, ' '), 300);
  }
  return undefined;
}

/** Claude counts cache reads and writes apart from `input_tokens`; the report counts them in. */
function readUsage(usage: unknown): TokenUsage | undefined {
  if (!isObject(usage)) return undefined;
  const input = countField(usage, 'input_tokens');
  const output = countField(usage, 'output_tokens');
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = countField(usage, 'cache_read_input_tokens') ?? 0;
  const cacheWrite = countField(usage, 'cache_creation_input_tokens') ?? 0;
  return { input: input + cacheRead + cacheWrite, cachedInput: cacheRead, output };
}

function sumUsage(usages: Iterable<TokenUsage>): TokenUsage | undefined {
  let total: TokenUsage | undefined;
  for (const usage of usages) {
    total ??= { input: 0, cachedInput: 0, output: 0 };
    total.input += usage.input;
    total.cachedInput += usage.cachedInput;
    total.output += usage.output;
  }
  return total;
}

/** The text blocks of a top-level assistant message (a subagent's messages carry a parent id). */
function assistantText(event: JsonObject): string | undefined {
  if (typeof event.parent_tool_use_id === 'string') return undefined;
  const message = event.message;
  if (!isObject(message) || !Array.isArray(message.content)) return undefined;
  const texts = message.content
    .filter((block): block is JsonObject => isObject(block) && block.type === 'text' && typeof block.text === 'string')
    .map((block) => (block.text as string).trim())
    .filter((text) => text !== '');
  return texts.length > 0 ? texts.join('\n\n') : undefined;
}

function describeRetry(event: JsonObject): string {
  const error = stringField(event, 'error') ?? 'error';
  const status = countField(event, 'error_status');
  return clipText(status === undefined ? error : `${error} (HTTP ${status})`, 200);
}
