import { checkSchema, validateJson, type JsonSchema } from './json-schema.validator';

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
    expect(
      validateJson({ count: 1.5, ratio: 'big', loud: 'yes', unit: 'm', tags: ['ok', 3], point: { y: 2 }, extra: true }, schema),
    ).toEqual([
      'args.name is required',
      'args.count must be an integer (got number 1.5)',
      'args.ratio must be a number (got string "big")',
      'args.loud must be a boolean (got string "yes")',
      'args.unit must be one of "cm", "in" (got "m")',
      'args.tags[1] must be a string (got number 3)',
      'args.point.x is required',
      'args.point.y is not an allowed property',
      'args.extra is not an allowed property',
    ]);
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

  it('refuses non-finite numbers', () => {
    expect(validateJson(Number.NaN, { type: 'number' })).toEqual(['args must be a number (got number NaN)']);
  });
});

describe('checkSchema', () => {
  it('accepts the supported subset with annotations', () => {
    expect(
      checkSchema({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        title: 'Args',
        description: 'x',
        properties: { a: { type: 'array', items: { type: 'integer', default: 1, examples: [1] } }, b: { enum: ['x', 1, null] } },
        required: ['a'],
        additionalProperties: false,
      }),
    ).toEqual([]);
  });

  it('names each unsupported keyword and bad value with its place', () => {
    expect(
      checkSchema({
        type: 'object',
        properties: { a: { type: 'string', minLength: 1 }, b: { type: 'date' }, c: { oneOf: [] } },
        required: 'a',
        additionalProperties: { type: 'string' },
        enum: [],
      }),
    ).toEqual([
      "#/properties/a: the keyword 'minLength' is not supported (supported: type, properties, required, additionalProperties, enum, items); check it inside the tool instead",
      '#/properties/b/type must be one of object, string, number, integer, boolean, array',
      "#/properties/c: the keyword 'oneOf' is not supported (supported: type, properties, required, additionalProperties, enum, items); check it inside the tool instead",
      '#/required must be an array of property names',
      '#/additionalProperties must be true or false (schemas are not supported there)',
      '#/enum must be a non-empty array of strings, numbers, booleans or null',
    ]);
    expect(checkSchema([])).toEqual(['# must be a schema object']);
  });
});
