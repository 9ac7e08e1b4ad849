import { checkSchema, compileJsonSchema, validateJson, type JsonSchema } from './json-schema.validator';

describe('validateJson', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      count: { type: 'integer' },
      ratio: { type: 'number' },
      loud: { type: 'boolean' },
      unit: { type: 'string', enum: ['cm', 'in'] },
      tags: { type: 'array', items: { type: 'string' } },
      point: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'], additionalProperties: false },
    },
    required: ['name'],
    additionalProperties: false,
  };

  it('accepts valid values', () => {
    expect(validateJson({ name: 'a' }, schema)).toEqual([]);
    expect(validateJson({ name: 'a', count: 2, ratio: 0.5, loud: false, unit: 'cm', tags: ['x', 'y'], point: { x: 1 } }, schema)).toEqual(
      [],
    );
  });

  it('reports every violation with its path', () => {
    const problems = validateJson(
      { count: 1.5, ratio: 'big', loud: 'yes', unit: 'm', tags: ['ok', 3], point: { y: 2 }, extra: true },
      schema,
    );
    expect(problems.sort()).toEqual(
      [
        'args.name is required',
        'args.count must be an integer (got number 1.5)',
        'args.ratio must be a number (got string "big")',
        'args.loud must be a boolean (got string "yes")',
        'args.unit must be one of "cm", "in" (got "m")',
        'args.tags[1] must be a string (got number 3)',
        'args.point.x is required',
        'args.point.y is not an allowed property',
        'args.extra is not an allowed property',
      ].sort(),
    );
  });

  it('refuses a non-object where an object is expected', () => {
    expect(validateJson([], schema)).toEqual(['args must be an object (got an array)']);
    expect(validateJson(null, schema)).toEqual(['args must be an object (got null)']);
    expect(validateJson('{"name":"a"}', schema)).toEqual(['args must be an object (got string "{\\"name\\":\\"a\\"}")']);
  });

  it('allows unknown properties unless additionalProperties is false', () => {
    expect(validateJson({ a: 1 }, { type: 'object' })).toEqual([]);
    expect(validateJson({ a: 1 }, { type: 'object', additionalProperties: false })).toEqual(['args.a is not an allowed property']);
  });

  it('does not treat inherited names as declared properties', () => {
    const parsed = JSON.parse('{"name": "a", "constructor": 1, "__proto__": {"x": 1}}') as unknown;
    expect(validateJson(parsed, schema)).toEqual([
      'args.constructor is not an allowed property',
      'args.__proto__ is not an allowed property',
    ]);
    expect(validateJson({}, { type: 'object', required: ['toString'] })).toEqual(['args.toString is required']);
  });

  it('enforces the keywords of draft 2020-12 beyond types: lengths, ranges, patterns, formats, combinators, conditionals', () => {
    const strict: JsonSchema = {
      type: 'object',
      properties: {
        code: { type: 'string', pattern: '^[A-Z]{3}$' },
        n: { type: 'number', exclusiveMinimum: 0, maximum: 10, multipleOf: 0.5 },
        mail: { type: 'string', format: 'email' },
        items: { type: 'array', minItems: 1, uniqueItems: true, prefixItems: [{ const: 'first' }] },
        either: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
        word: { type: 'string', minLength: 2, maxLength: 4 },
      },
      if: { properties: { n: { const: 10 } }, required: ['n'] },
      then: { required: ['code'] },
      dependentRequired: { mail: ['word'] },
    };
    expect(validateJson({ code: 'ABC', n: 2.5, mail: 'a@b.co', items: ['first', 2], either: 3, word: 'abc' }, strict)).toEqual([]);
    const problems = validateJson({ code: 'abc', n: 0, mail: 'nope', items: ['second', 'second'], either: 1.5, word: 'a' }, strict);
    expect(problems).toEqual(
      expect.arrayContaining([
        'args.code must match pattern "^[A-Z]{3}$"',
        'args.n must be > 0',
        'args.mail must match format "email"',
        'args.items[0] must be equal to constant',
        expect.stringMatching(/^args\.items must NOT have duplicate items/),
        'args.either must match exactly one schema in oneOf',
        'args.word must NOT have fewer than 2 characters',
      ]),
    );
    expect(validateJson({ mail: 'a@b.co' }, strict)).toEqual(['args must have property word when property mail is present']);
    expect(validateJson({ n: 10 }, strict)).toEqual(expect.arrayContaining(['args.code is required']));
    expect(validateJson({ n: 0.7 }, strict)).toEqual(['args.n must be multiple of 0.5']);
  });
});

describe('compileJsonSchema', () => {
  it('gives the contract fields of VALIDATION_FAILED: one entry per field with all its errors', () => {
    const check = compileJsonSchema({
      type: 'object',
      properties: { city: { type: 'string', minLength: 2, pattern: '^[A-Z]' } },
      required: ['city', 'zip'],
    });
    expect(check({ city: 'x' }, 'response')).toEqual([
      { field: 'response.zip', errors: ['is required'] },
      { field: 'response.city', errors: ['must NOT have fewer than 2 characters', 'must match pattern "^[A-Z]"'] },
    ]);
    expect(check({ city: 'Lyon', zip: 1 }, 'response')).toEqual([]);
  });

  it('compiles a schema object once', () => {
    const schema = { type: 'integer' };
    expect(compileJsonSchema(schema)).toBe(compileJsonSchema(schema));
    expect(compileJsonSchema({ type: 'integer' })).not.toBe(compileJsonSchema(schema));
  });

  it('compiles two schemas with the same $id one after the other (nothing is kept by Ajv)', () => {
    const a = compileJsonSchema({ $id: 'https://example.com/answer', type: 'string' });
    const b = compileJsonSchema({ $id: 'https://example.com/answer', type: 'number' });
    expect(a('x', 'r')).toEqual([]);
    expect(b('x', 'r')).toEqual([{ field: 'r', errors: ['must be a number (got string "x")'] }]);
  });

  it('names properties that are no identifiers in brackets', () => {
    expect(compileJsonSchema({ type: 'object', required: ['first name'] })({}, 'response')).toEqual([
      { field: 'response["first name"]', errors: ['is required'] },
    ]);
  });
});

describe('checkSchema', () => {
  it('accepts draft 2020-12 schemas, and draft-07 ones that say so', () => {
    expect(
      checkSchema({
        type: 'object',
        title: 'Args',
        description: 'x',
        properties: { a: { type: 'array', items: { type: 'integer', default: 1, examples: [1] } }, b: { enum: ['x', 1, null] } },
        required: ['a'],
        additionalProperties: { type: 'string' },
        $defs: { id: { type: 'string', format: 'uuid' } },
      }),
    ).toEqual([]);
    expect(
      checkSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { a: { type: 'string' } } }),
    ).toEqual([]);
  });

  it('refuses unknown keywords (typos), bad keyword values, unknown formats and non-objects', () => {
    expect(checkSchema({ type: 'string', minLenght: 1 })).toEqual([expect.stringContaining('unknown keyword: "minLenght"')]);
    expect(checkSchema({ type: 'date' })).toEqual([expect.stringContaining('must be equal to one of the allowed values')]);
    expect(checkSchema({ type: 'object', required: 'a' })).toEqual([expect.stringContaining('must be array')]);
    expect(checkSchema({ type: 'string', format: 'colour' })).toEqual([expect.stringContaining('unknown format "colour"')]);
    expect(checkSchema({ type: 'string', pattern: '(' })).toEqual([expect.stringMatching(/pattern|regular expression/i)]);
    expect(checkSchema([])).toEqual(['a schema must be a JSON object']);
  });
});
