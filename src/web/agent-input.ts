/**
 * How the chat page turns what the user typed into an agent's input, from the agent's
 * `inputSchema` (DESIGN.md "Agent schemas"): text for an agent with exactly one required string
 * property goes into that property; an agent with other properties gets a small form; a JSON
 * object typed in is sent as it is. No DOM here.
 */
import type { JsonSchemaObject } from '@agent-pipeline/protocol';

/** One field of an agent's input form. */
export interface InputField {
  name: string;
  /** The property's `description` (or `title`), when the schema has one. */
  description?: string;
  /** How the field is edited and its value read. */
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'choice' | 'json';
  required: boolean;
  choices?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

/** How the composer takes an agent's input. */
export type InputMode =
  /** Text goes into this one required string property. */
  | { kind: 'text'; property: string }
  /** A form with these fields (the message box still takes a JSON object). */
  | { kind: 'form'; fields: InputField[] }
  /** The schema names no properties: text is sent as `{ text }`. */
  | { kind: 'free' };

/** The composer's mode for a schema (an agent listed without one takes free text). */
export function inputModeOf(schema: JsonSchemaObject | undefined): InputMode {
  const properties = schema?.properties ?? {};
  const names = Object.keys(properties);
  if (names.length === 0) return { kind: 'free' };
  const required = new Set(schema?.required ?? []);
  const requiredNames = names.filter((n) => required.has(n));
  if (requiredNames.length === 1 && typeOf(properties[requiredNames[0]]) === 'string' && !properties[requiredNames[0]].enum) {
    return { kind: 'text', property: requiredNames[0] };
  }
  return { kind: 'form', fields: names.map((name) => fieldOf(name, properties[name], required.has(name))) };
}

/** A JSON object typed in, or `undefined` when the text is no JSON object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The input for text typed in `text` or `free` mode: a JSON object as it is, else the text in its property. */
export function textInput(text: string, mode: InputMode): Record<string, unknown> {
  const object = parseJsonObject(text);
  if (object) return object;
  return { [mode.kind === 'text' ? mode.property : 'text']: text };
}

/** What a form gives: the input, or an error per field it could not read. */
export type FormOutcome = { input: Record<string, unknown> } | { errors: Record<string, string> };

/**
 * Reads a form's raw values (text of each input, `true`/`false` of a checkbox) into an input:
 * empty optional fields are left out; a missing required one, or text that is no number where a
 * number goes, is an error of that field. Ranges and lengths are left to the server, whose
 * `VALIDATION_FAILED` names the field too.
 */
export function formInput(fields: InputField[], raw: Record<string, string | boolean>): FormOutcome {
  const input: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const value = raw[field.name];
    if (field.kind === 'boolean') {
      if (value === true || field.required) input[field.name] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value.trim() : '';
    if (text === '') {
      if (field.required) errors[field.name] = 'is required';
      continue;
    }
    const read = readValue(field, text);
    if ('error' in read) errors[field.name] = read.error;
    else input[field.name] = read.value;
  }
  return Object.keys(errors).length > 0 ? { errors } : { input };
}

/** A short hint of what a field takes, from its schema: `integer, 1–10000`, `text, up to 200 characters`. */
export function fieldHint(field: InputField): string {
  const parts: string[] = [field.kind === 'string' ? 'text' : field.kind === 'json' ? 'JSON' : field.kind];
  if (field.minimum !== undefined && field.maximum !== undefined) parts.push(`${field.minimum}–${field.maximum}`);
  else if (field.minimum !== undefined) parts.push(`at least ${field.minimum}`);
  else if (field.maximum !== undefined) parts.push(`at most ${field.maximum}`);
  if (field.minLength !== undefined && field.maxLength !== undefined) parts.push(`${field.minLength}–${field.maxLength} characters`);
  else if (field.maxLength !== undefined) parts.push(`up to ${field.maxLength} characters`);
  else if (field.minLength !== undefined && field.minLength > 0) parts.push(`at least ${field.minLength} characters`);
  if (!field.required) parts.push('optional');
  return parts.join(', ');
}

function readValue(field: InputField, text: string): { value: unknown } | { error: string } {
  switch (field.kind) {
    case 'integer':
    case 'number': {
      const value = Number(text);
      if (!Number.isFinite(value)) return { error: `must be a number` };
      if (field.kind === 'integer' && !Number.isInteger(value)) return { error: 'must be a whole number' };
      return { value };
    }
    case 'choice': {
      const choice = field.choices?.find((c) => String(c) === text);
      return choice === undefined ? { error: 'must be one of the choices' } : { value: choice };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: 'must be JSON' };
      }
    default:
      return { value: text };
  }
}

function fieldOf(name: string, schema: JsonSchemaObject, required: boolean): InputField {
  const type = typeOf(schema);
  const kind: InputField['kind'] = Array.isArray(schema.enum)
    ? 'choice'
    : type === 'string' || type === 'integer' || type === 'number' || type === 'boolean'
      ? type
      : 'json';
  const field: InputField = { name, kind, required };
  const description =
    typeof schema.description === 'string' ? schema.description : typeof schema.title === 'string' ? schema.title : undefined;
  if (description) field.description = description;
  if (kind === 'choice') field.choices = schema.enum;
  for (const key of ['minimum', 'maximum', 'minLength', 'maxLength'] as const) {
    if (typeof schema[key] === 'number') field[key] = schema[key];
  }
  return field;
}

function typeOf(schema: JsonSchemaObject | undefined): string | undefined {
  const type = schema?.type;
  if (typeof type === 'string') return type;
  // `['string', 'null']` and the like: the first type that is not null.
  return Array.isArray(type) ? type.find((t) => t !== 'null') : undefined;
}
