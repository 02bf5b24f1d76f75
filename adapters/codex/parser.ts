/**
 * Reads `codex exec --json` output, one event per line: `thread.started` (thread id),
 * `turn.completed` (usage), `turn.failed`, `error`, and `item.completed` agent messages.
 *
 * Codex also prints `error` events for requests it retries ("Reconnecting... 2/5"); an error
 * followed by a completed turn is counted as a retry, not as the run's failure.
 */
import type { AgentLaunch, AgentOutputParser, AgentReport, TokenUsage } from '../types.ts';
import { resumeHint } from '../command/resume-hint.ts';
import { sessionOptions } from './launch.ts';
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

/** Where Codex keeps its sessions: `exec resume` elsewhere finds no rollout. */
const SESSION_ENV = ['CODEX_HOME'];

export function createCodexParser(launch: AgentLaunch): AgentOutputParser {
  let threadId: string | undefined;
  let summary: string | undefined;
  let tokens: TokenUsage | undefined;
  let turnCompleted = false;
  let turnFailure: string | undefined;
  let unresolvedErrors = 0;
  let lastError: string | undefined;
  let apiRetries = 0;
  let lastApiRetryError: string | undefined;

  function onEvent(event: JsonObject): void {
    switch (event.type) {
      case 'thread.started':
        if (isSafeSessionId(event.thread_id)) threadId = event.thread_id;
        break;
      case 'item.completed': {
        const item = event.item;
        if (isObject(item) && item.type === 'agent_message' && typeof item.text === 'string' && item.text.trim()) {
          summary = clipText(item.text);
        }
        break;
      }
      case 'turn.completed':
        // Codex reports the thread's running total here, so the last one is the whole run.
        tokens = readUsage(event.usage) ?? tokens;
        turnCompleted = true;
        turnFailure = undefined;
        if (unresolvedErrors > 0) {
          apiRetries += unresolvedErrors;
          lastApiRetryError = lastError;
          unresolvedErrors = 0;
        }
        break;
      case 'turn.failed': {
        const error = isObject(event.error) ? stringField(event.error, 'message') : undefined;
        turnFailure = clipText(error?.trim() || lastError || 'the turn failed');
        tokens = readUsage(event.usage) ?? tokens;
        break;
      }
      case 'error': {
        const message = stringField(event, 'message')?.trim();
        lastError = clipText(message || 'Codex reported an error');
        unresolvedErrors += 1;
        break;
      }
    }
  }

  return {
    onLine: jsonEventLines(onEvent),
    report(): AgentReport {
      const failed = turnFailure !== undefined || unresolvedErrors > 0;
      return withoutUndefined({
        ok: failed ? false : turnCompleted ? true : undefined,
        sessionId: threadId,
        summary,
        error: turnFailure ?? (unresolvedErrors > 0 ? lastError : undefined),
        resumeHint: threadId ? resumeHint(launch, SESSION_ENV, ['exec', ...sessionOptions(launch.args), 'resume', threadId]) : undefined,
        tokens,
        apiRetries: apiRetries > 0 ? apiRetries : undefined,
        lastApiRetryError,
      });
    },
  };
}

function readUsage(usage: unknown): TokenUsage | undefined {
  if (!isObject(usage)) return undefined;
  const input = countField(usage, 'input_tokens');
  const output = countField(usage, 'output_tokens');
  if (input === undefined || output === undefined) return undefined;
  return { input, cachedInput: countField(usage, 'cached_input_tokens') ?? 0, output };
}
