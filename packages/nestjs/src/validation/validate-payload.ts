import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { PipelineError } from '../errors/pipeline.error';
import { sanitizeJson } from './json-payload';

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
 */
export function validatePayload<T extends object>(cls: Type<T>, payload: unknown, what: string, field = '(payload)'): T {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    const got = payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload;
    throw new PipelineError('VALIDATION_FAILED', `The ${what} must be a JSON object; got ${got}.`, {
      fields: [{ field, errors: ['must be an object'] }],
    });
  }
  const clean = sanitizeJson(payload, field === '(payload)' ? 'payload' : field) as Record<string, unknown>;
  const instance = plainToInstance(cls, clean);
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
