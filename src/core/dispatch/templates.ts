import { TEMPLATE_VARIABLES } from '../../config/template-variables.ts';

/**
 * `{task_id}`, `{task_name}`, `{task_url}` and `{queue}` in route args, env and cwd. Values are
 * inserted as literal text into argv elements (never through a shell). In paths they are first
 * made safe: a task called `../../etc` never chooses where an agent runs.
 */
export interface TemplateVars {
  task_id: string;
  task_name: string;
  task_url: string;
  queue: string;
  run_id?: string;
}

const PLACEHOLDER = new RegExp(`\\{(${TEMPLATE_VARIABLES.join('|')})\\}`, 'g');

export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (_, key: keyof TemplateVars) => vars[key] ?? '');
}

export function renderPathTemplate(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (_, key: keyof TemplateVars) => safePathSegment(vars[key] ?? ''));
}

/** One harmless path segment: no separators, no dot-only names, no control characters. */
export function safePathSegment(value: string, fallback = '_'): string {
  const cleaned = value
    .normalize('NFKC')
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|#%&{}$!'`@=+^~\s]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return cleaned === '' || /^\.+$/.test(cleaned) ? fallback : cleaned;
}
