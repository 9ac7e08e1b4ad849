import { PipelineError } from '../errors/pipeline.error';

/** Keys that could reach an object's prototype if a library assigned them blindly. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;

/**
 * A clean copy of a JSON value: plain objects (null prototype-safe keys only), arrays, strings,
 * finite numbers, booleans and null. `__proto__`, `constructor` and `prototype` keys are dropped;
 * binary data, functions and nesting deeper than 64 levels are refused with `VALIDATION_FAILED`.
 */
export function sanitizeJson(value: unknown, path = 'input', depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(path, 'must be a finite number');
    return value;
  }
  if (depth >= MAX_DEPTH) throw invalid(path, `nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item, i) => sanitizeJson(item, `${path}[${i}]`, depth + 1));
  if (typeof value === 'object' && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) continue;
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      out[key] = sanitizeJson(item, `${path}.${key}`, depth + 1);
    }
    return out;
  }
  throw invalid(path, 'must be JSON (objects, arrays, strings, numbers, booleans or null)');
}

/** Size of a value serialized as JSON, in UTF-8 bytes. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function invalid(path: string, problem: string): PipelineError {
  return new PipelineError('VALIDATION_FAILED', `${path} ${problem}.`, { fields: [{ field: path, errors: [problem] }] });
}
