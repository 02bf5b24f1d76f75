/**
 * Reads Claude Code's `--output-format stream-json --verbose` output, one event per line:
 * `system`/`init` (session id), `system`/`api_retry`, `assistant` messages and the final `result`.
 * Also reads the single result line of `--output-format json`. Unknown events are skipped.
 */
import type { AgentLaunch, AgentOutputParser, AgentReport, TokenUsage } from '../types.ts';
import { shellQuote } from '../command/launch-args.ts';
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
  turns?: number;
  costUsd?: number;
  durationMs?: number;
  text?: string;
  error?: string;
  tokens?: TokenUsage;
}

const SUBTYPE_MEANING: Record<string, string> = {
  error_max_turns: 'reached the maximum number of turns',
  error_max_budget_usd: 'reached the maximum budget',
  error_during_execution: 'failed during execution',
  error_max_structured_output_retries: 'could not produce valid structured output',
};

export function createClaudeParser(launch: AgentLaunch): AgentOutputParser {
  const knownSessionId = sessionIdFromArgs(launch.args);
  let sessionId: string | undefined;
  let result: ClaudeResult | undefined;
  let lastAssistantText: string | undefined;
  let apiRetries = 0;
  let lastApiRetryError: string | undefined;

  function onEvent(event: JsonObject): void {
    const type = event.type;
    if (type === 'system') {
      if (event.subtype === 'init' && isSafeSessionId(event.session_id)) sessionId = event.session_id;
      if (event.subtype === 'api_retry') {
        apiRetries += 1;
        lastApiRetryError = describeRetry(event);
      }
    } else if (type === 'assistant') {
      const text = assistantText(event);
      if (text) lastAssistantText = clipText(text);
    } else if (type === 'result') {
      const read = readResult(event);
      if (!read) return;
      result = read;
      if (isSafeSessionId(event.session_id)) sessionId = event.session_id;
    }
  }

  return {
    onLine: jsonEventLines(onEvent),
    report(): AgentReport {
      const id = sessionId ?? knownSessionId;
      return withoutUndefined({
        ok: result ? !result.failed : undefined,
        sessionId: id,
        turns: result?.turns,
        costUsd: result?.costUsd,
        durationMs: result?.durationMs,
        summary: result?.text ?? lastAssistantText,
        error: result?.error,
        resumeHint: id ? `cd ${shellQuote(launch.cwd)} && claude --resume=${id}` : undefined,
        tokens: result?.tokens,
        apiRetries: apiRetries > 0 ? apiRetries : undefined,
        lastApiRetryError,
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
  return {
    failed,
    turns: countField(event, 'num_turns'),
    costUsd: countField(event, 'total_cost_usd'),
    durationMs: countField(event, 'duration_ms'),
    text: text === undefined ? undefined : clipText(text),
    error: error === undefined ? undefined : clipText(error),
    tokens: readUsage(event.usage),
  };
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
