/**
 * Claude Code in print mode (`claude -p ...`). Adds a pre-assigned `--session-id` and
 * `--output-format stream-json --verbose` (see launch.ts), then reads the event stream (parser.ts).
 */
import type { AgentAdapter, AgentFactory } from '../types.ts';
import { prepareClaudeLaunch } from './launch.ts';
import { createClaudeParser } from './parser.ts';

const createClaudeAgent: AgentFactory = (): AgentAdapter => ({
  prepare: prepareClaudeLaunch,
  createParser: createClaudeParser,
});

export default createClaudeAgent;
