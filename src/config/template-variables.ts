/** The `{name}` variables route args, env and cwd may hold (src/core/dispatch/templates.ts fills them in). */
export const TEMPLATE_VARIABLES = ['task_id', 'task_name', 'task_url', 'queue', 'run_id'] as const;

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** What looks like a template variable: a name in braces. Anything else in braces is plain text. */
export const TEMPLATE_NAME = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
