/**
 * OpenAI Codex in non-interactive mode (`codex exec ...`). Adds `--json` (see launch.ts), then
 * reads the JSONL events (parser.ts). The thread id is only known once Codex prints it.
 */
import type { AgentAdapter, AgentFactory } from '../types.ts';
import { prepareCodexLaunch } from './launch.ts';
import { createCodexParser } from './parser.ts';

const createCodexAgent: AgentFactory = (): AgentAdapter => ({
  prepare: prepareCodexLaunch,
  createParser: createCodexParser,
});

export default createCodexAgent;
