import { ApiError } from './errors.ts';

/** Field checks for request bodies: every 400 names the field and what it must be. */
type Body = Record<string, unknown>;

export function requiredString(body: Body, name: string): string {
  if (!(name in body) || body[name] === undefined) throw new ApiError(400, 'invalid_field', `missing field "${name}" (a string)`);
  return optionalString(body, name) as string;
}

export function optionalString(body: Body, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ApiError(400, 'invalid_field', `field "${name}" must be a string, not ${describe(value)}`);
  return value;
}

export function optionalStringList(body: Body, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new ApiError(400, 'invalid_field', `field "${name}" must be a list of strings, not ${describe(value)}`);
  }
  return value as string[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.every((item) => typeof item === 'string') ? 'a list' : 'a list with non-string items';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
