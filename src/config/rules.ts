import { isLoopbackHost } from '../util/loopback.ts';
import { closest } from './messages.ts';
import type { RawConfig } from './schema.ts';
import { TEMPLATE_NAME, TEMPLATE_VARIABLES } from './template-variables.ts';

/**
 * Rules the schema cannot say: each is checked when the config loads, so `config check` refuses
 * exactly what `run` would refuse. A problem is reported as `dotted.path: message`.
 */
export interface RuleProblem {
  keys: string[];
  message: string;
}

export function checkRules(raw: RawConfig): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const [queue, route] of Object.entries(raw.routing)) {
    const at = (...keys: string[]) => ['routing', queue, ...keys];
    route.args.forEach((arg, index) => problems.push(...templateProblems(arg, at('args', String(index)))));
    if (route.cwd !== undefined) problems.push(...templateProblems(route.cwd, at('cwd')));
    if (route.workspace?.git?.branch !== undefined) problems.push(...templateProblems(route.workspace.git.branch, at('workspace', 'git', 'branch')));
    for (const [name, value] of Object.entries(route.env)) problems.push(...templateProblems(value, at('env', name)));
  }
  if (raw.workspace?.git?.branch !== undefined) problems.push(...templateProblems(raw.workspace.git.branch, ['workspace', 'git', 'branch']));
  if (!raw.coordination) {
    const without = 'needs [coordination] (several hosts sharing one PostgreSQL ledger): without it there is no cluster to count';
    if (raw.cluster_max_concurrent_agents !== undefined) problems.push({ keys: ['cluster_max_concurrent_agents'], message: without });
    for (const [queue, route] of Object.entries(raw.routing)) if (route.cluster_max_concurrent !== undefined) problems.push({ keys: ['routing', queue, 'cluster_max_concurrent'], message: without });
  }
  const auth = raw.api.auth;
  const api = openOnNetwork('api_host', raw.api_host, auth, 'would let anyone who can reach this host read and change your tasks');
  if (api) problems.push({ keys: ['api_host'], message: api });
  const dashboardHost = raw.dispatch_file?.dashboard_host;
  const dashboard = dashboardHost === undefined ? undefined : openOnNetwork('dashboard_host', dashboardHost, auth, 'would show your tasks and log to anyone who can reach this host');
  if (dashboard) problems.push({ keys: ['dispatch_file', 'dashboard_host'], message: dashboard });
  return problems;
}

/** The refusal of an open (auth = "none") server on a host others can reach, or undefined. */
export function openOnNetwork(setting: string, host: string, auth: 'token' | 'none', risk: string): string | undefined {
  if (auth !== 'none' || isLoopbackHost(host)) return undefined;
  return `${setting} = "${host}" with [api] auth = "none" ${risk}; bind 127.0.0.1 or set [api] auth = "token"`;
}

function templateProblems(template: string, keys: string[]): RuleProblem[] {
  const known: readonly string[] = TEMPLATE_VARIABLES;
  return [...template.matchAll(TEMPLATE_NAME)]
    .filter(([, name]) => !known.includes(name))
    .map(([, name]) => {
      const suggestion = closest(name, known);
      const hint = suggestion ? `did you mean {${suggestion}}?` : `known: ${known.map((variable) => `{${variable}}`).join(', ')}`;
      return { keys, message: `unknown template variable {${name}} (${hint})` };
    });
}
