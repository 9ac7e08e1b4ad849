import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { PipelineError } from '../errors/pipeline.error';
import { sanitizeJson } from './json-payload';
import { ValidationPlan } from './validation-plan';

/** One invalid field, as reported in `error.details.fields`. */
export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * Validates an untrusted payload against a class-validator class: it must be a JSON object;
 * unknown keys are stripped; the message names every invalid field. Throws `VALIDATION_FAILED`.
 *
 * @param what How the payload is called in messages, e.g. `run:start payload`.
 * @param field The field name reported when the payload itself is not an object.
 * @param passThrough Top-level keys whose values are left as they came (neither copied,
 *   sanitized nor transformed) for their consumer to sanitize once: `run:start`'s `input`, which
 *   the agent's input validation walks anyway.
 */
export function validatePayload<T extends object>(
  cls: Type<T>,
  payload: unknown,
  what: string,
  field = '(payload)',
  passThrough?: ReadonlySet<string>,
): T {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    const got = payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload;
    throw new PipelineError('VALIDATION_FAILED', `The ${what} must be a JSON object; got ${got}.`, {
      fields: [{ field, errors: ['must be an object'] }],
    });
  }
  const path = field === '(payload)' ? 'payload' : field;
  if (!passThrough) return validateSanitized(cls, sanitizeJson(payload, path), what);
  const kept: Record<string, unknown> = {};
  // No prototype: a `__proto__` key stays a key (and is dropped by the sanitizer).
  const rest: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(payload)) {
    const value = (payload as Record<string, unknown>)[key];
    if (passThrough.has(key)) kept[key] = value;
    else rest[key] = value;
  }
  return validateSanitized(cls, sanitizeJson(rest, path), what, kept);
}

/**
 * {@link validatePayload} for a value that is already a sanitized JSON object
 * ({@link sanitizeJson}'s result): transformed and validated without another copy.
 *
 * @param kept Values set on the instance as they are (not transformed) before it is validated.
 */
export function validateSanitized<T extends object>(cls: Type<T>, clean: unknown, what: string, kept?: Record<string, unknown>): T {
  if (!kept) {
    const accepted = ValidationPlan.for(cls)?.accept(clean as Record<string, unknown>);
    if (accepted) return accepted;
  }
  const instance = plainToInstance(cls, clean as Record<string, unknown>);
  if (kept) Object.assign(instance, kept);
  const errors = validateSync(instance, { whitelist: true, forbidUnknownValues: false });
  if (errors.length > 0) throw validationFailed(errors, what);
  return instance;
}

/** class-validator errors as one `VALIDATION_FAILED` error that names every field. */
export function validationFailed(errors: ValidationError[], what: string): PipelineError {
  const fields = flatten(errors);
  return new PipelineError('VALIDATION_FAILED', `Invalid ${what}: ${fields.map((f) => `${f.field} ${f.errors.join(', ')}`).join('; ')}.`, {
    fields,
  });
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) out.push({ field, errors: relevant(e.constraints).map((m) => stripProperty(m, e.property)) });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Constraints about a value's type; when one fails, range and format messages only add noise. */
const TYPE_CONSTRAINTS = new Set(['isDefined', 'isString', 'isInt', 'isNumber', 'isBoolean', 'isArray', 'isObject']);

function relevant(constraints: Record<string, string>): string[] {
  const typeErrors = Object.entries(constraints).filter(([name]) => TYPE_CONSTRAINTS.has(name));
  return (typeErrors.length > 0 ? typeErrors : Object.entries(constraints)).map(([, message]) => message);
}

/** class-validator messages start with the property name; the field is already named. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}
