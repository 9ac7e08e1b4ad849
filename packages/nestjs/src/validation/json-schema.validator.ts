import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import draft7MetaSchema from 'ajv/dist/refs/json-schema-draft-07.json';
import type { JsonSchemaObject } from '@agent-pipeline/protocol';
import type { FieldError } from './validate-payload';

/**
 * A JSON Schema (draft 2020-12), as tool parameters and interrupt response schemas declare it:
 * every keyword of the draft is enforced (by Ajv), formats included.
 */
export type JsonSchema = JsonSchemaObject;

/** A compiled schema: checks a value and names every place it breaks the schema. */
export interface JsonSchemaCheck {
  /** The violations of `value`, one entry per field (empty when valid); fields are paths below `where`, e.g. `response.items[2]`. */
  (value: unknown, where: string): FieldError[];
}

/**
 * Strict: a keyword the draft does not know (a typo such as `minLenght`) is refused when the
 * schema is compiled rather than silently ignored; the schemas come from code, so that is the
 * author's bug, found at once. `verbose` keeps the offending value for messages.
 */
const ajv = addFormats(
  new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    verbose: true,
    ownProperties: true,
  }),
);
// Many generators (zod-to-json-schema, MCP servers) stamp `$schema: draft-07`; its keywords are the draft's too.
ajv.addMetaSchema(draft7MetaSchema);

const compiled = new WeakMap<object, JsonSchemaCheck>();

/**
 * Compiles `schema` once (later calls with the same object reuse it) and returns its check.
 * Throws a `TypeError` naming the problems when `schema` is no valid draft 2020-12 schema.
 */
export function compileJsonSchema(schema: unknown): JsonSchemaCheck {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw new TypeError('a schema must be a JSON object');
  const cached = compiled.get(schema);
  if (cached) return cached;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new TypeError(err instanceof Error ? err.message : String(err), { cause: err });
  } finally {
    // Ajv keeps every schema it compiled (by object and by $id); questions come and go, so drop it
    // from Ajv and keep the compiled function only as long as the caller holds the schema.
    ajv.removeSchema(schema);
  }
  const check: JsonSchemaCheck = (value, where) => (validate(value) ? [] : fieldErrors(validate.errors ?? [], where));
  compiled.set(schema, check);
  return check;
}

/**
 * The problems of `schema` as a draft 2020-12 schema (empty when it is fine): unknown keywords,
 * keyword values of the wrong kind, unknown formats, bad regular expressions.
 */
export function checkSchema(schema: unknown): string[] {
  try {
    compileJsonSchema(schema);
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/**
 * Validates `value` against `schema` (compiled once per schema object). Returns every violation
 * as `<where> <what>` (empty when valid); `where` is `args` or a path below it such as `args.items[2]`.
 * Throws a `TypeError` when `schema` itself is invalid (see {@link checkSchema}).
 */
export function validateJson(value: unknown, schema: JsonSchema, where = 'args'): string[] {
  return compileJsonSchema(schema)(value, where).flatMap(({ field, errors }) => errors.map((e) => `${field} ${e}`));
}

/** Ajv's errors as the contract's `details.fields`: one entry per field, in the order first seen. */
function fieldErrors(errors: ErrorObject[], where: string): FieldError[] {
  const byField = new Map<string, string[]>();
  for (const error of errors) {
    const { field, message } = describeError(error, where);
    const list = byField.get(field) ?? [];
    if (!list.includes(message)) list.push(message);
    byField.set(field, list);
  }
  return [...byField].map(([field, list]) => ({ field, errors: list }));
}

function describeError(error: ErrorObject, where: string): { field: string; message: string } {
  const field = where + pathOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: field + segment(String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = params.additionalProperty ?? params.unevaluatedProperty;
      return { field: field + segment(String(name)), message: 'is not an allowed property' };
    }
    case 'type':
      return { field, message: `must be ${typeList(String(params.type))} (got ${describe(error.data)})` };
    case 'enum':
      return {
        field,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(error.data)})`,
      };
    default:
      return { field, message: error.message ?? `breaks the '${error.keyword}' keyword` };
  }
}

/** A JSON pointer (`/items/2/name`) as a path (`.items[2].name`). */
function pathOf(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : segment(part)))
    .join('');
}

function segment(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

function typeList(types: string): string {
  return types
    .split(',')
    .map((type) => (type === 'array' || type === 'object' || type === 'integer' ? `an ${type}` : `a ${type}`))
    .join(' or ');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`.slice(0, 80);
}
