/**
 * The plain command agent: runs the route's command exactly as configured and reads nothing from
 * its output. The run comment then rests on the exit status and the output tail.
 */
import type { AgentAdapter, AgentFactory } from '../types.ts';
import { copyLaunch } from './launch-args.ts';

const createCommandAgent: AgentFactory = (): AgentAdapter => ({
  prepare: (launch) => copyLaunch(launch),
});

export default createCommandAgent;
