/**
 * The subset of JSON Schema that tool parameters and interrupt response schemas may use; {@link checkSchema} refuses anything
 * else at start-up, so every keyword a tool declares is one {@link validateJson} enforces.
 */
export interface JsonSchema {
  type?: 'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  /** Only `false` (refuse unknown keys) is enforced; absent or `true` allows them. */
  additionalProperties?: boolean;
  enum?: readonly (string | number | boolean | null)[];
  items?: JsonSchema;
  description?: string;
  title?: string;
  default?: unknown;
  examples?: unknown[];
}

const TYPES = new Set(['object', 'string', 'number', 'integer', 'boolean', 'array']);
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', '$schema']);
const KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'items']);

/**
 * Checks that `schema` uses only the supported subset. Returns the problems found (empty when
 * the schema is fine), each naming the JSON pointer of the offending place.
 */
export function checkSchema(schema: unknown, path = '#'): string[] {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return [`${path} must be a schema object`];
  const problems: string[] = [];
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key)) {
      problems.push(
        `${path}: the keyword '${key}' is not supported (supported: ${[...KEYWORDS].join(', ')}); ` + 'check it inside the tool instead',
      );
    }
  }
  if (s.type !== undefined && (typeof s.type !== 'string' || !TYPES.has(s.type))) {
    problems.push(`${path}/type must be one of ${[...TYPES].join(', ')}`);
  }
  if (s.properties !== undefined) {
    if (s.properties === null || typeof s.properties !== 'object' || Array.isArray(s.properties)) {
      problems.push(`${path}/properties must be an object`);
    } else {
      for (const [name, sub] of Object.entries(s.properties)) problems.push(...checkSchema(sub, `${path}/properties/${name}`));
    }
  }
  if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string'))) {
    problems.push(`${path}/required must be an array of property names`);
  }
  if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean') {
    problems.push(`${path}/additionalProperties must be true or false (schemas are not supported there)`);
  }
  if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0 || s.enum.some((v) => v !== null && typeof v === 'object'))) {
    problems.push(`${path}/enum must be a non-empty array of strings, numbers, booleans or null`);
  }
  if (s.items !== undefined) problems.push(...checkSchema(s.items, `${path}/items`));
  return problems;
}

/**
 * Validates `value` against a schema of the supported subset. Returns every violation as
 * `<where> <what>` (empty when valid); `where` is `args` or a path below it such as `args.items[2]`.
 */
export function validateJson(value: unknown, schema: JsonSchema, where = 'args'): string[] {
  const problems: string[] = [];
  if (schema.type !== undefined && !hasType(value, schema.type)) {
    return [`${where} must be ${article(schema.type)} (got ${describe(value)})`];
  }
  if (schema.enum !== undefined && !schema.enum.some((allowed) => allowed === value)) {
    problems.push(`${where} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(value)})`);
  }
  if (isPlainObject(value)) {
    const properties = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!Object.prototype.hasOwnProperty.call(value, name)) problems.push(`${where}.${name} is required`);
    }
    for (const [name, sub] of Object.entries(value)) {
      const propertySchema = Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : undefined;
      if (propertySchema) problems.push(...validateJson(sub, propertySchema, `${where}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${where}.${name} is not an allowed property`);
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => problems.push(...validateJson(item, schema.items!, `${where}[${i}]`)));
  }
  return problems;
}

function hasType(value: unknown, type: NonNullable<JsonSchema['type']>): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function article(type: string): string {
  return type === 'array' || type === 'object' || type === 'integer' ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`.slice(0, 80);
}
