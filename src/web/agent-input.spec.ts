import { fieldHint, formInput, inputModeOf, textInput } from './agent-input';

/** The demo agents' schemas as `GET /agents` serves them (see test/agent-schemas.e2e-spec.ts). */
const CALCULATOR = { type: 'object', properties: { expression: { type: 'string', maxLength: 1000 } }, required: ['expression'] };
const COUNTDOWN = {
  type: 'object',
  properties: { steps: { type: 'integer', minimum: 1, maximum: 10_000 }, intervalMs: { type: 'integer', minimum: 0, maximum: 60_000 } },
  required: ['steps', 'intervalMs'],
};
const APPROVAL = {
  type: 'object',
  properties: { action: { type: 'string', minLength: 1, maxLength: 200 }, timeoutMs: { type: 'integer', minimum: 1 } },
  required: ['action'],
};
const FAILING = { type: 'object', properties: { message: { type: 'string' } } };

describe('inputModeOf', () => {
  it('puts text into the one required string property', () => {
    expect(inputModeOf(CALCULATOR)).toEqual({ kind: 'text', property: 'expression' });
    expect(inputModeOf(APPROVAL)).toEqual({ kind: 'text', property: 'action' });
  });

  it('gives a form to an agent with other properties, typed from the schema', () => {
    expect(inputModeOf(COUNTDOWN)).toEqual({
      kind: 'form',
      fields: [
        { name: 'steps', kind: 'integer', required: true, minimum: 1, maximum: 10_000 },
        { name: 'intervalMs', kind: 'integer', required: true, minimum: 0, maximum: 60_000 },
      ],
    });
    expect(inputModeOf(FAILING)).toEqual({ kind: 'form', fields: [{ name: 'message', kind: 'string', required: false }] });
    const rich = inputModeOf({
      type: 'object',
      properties: {
        unit: { enum: ['cm', 'in'], description: 'The unit' },
        loud: { type: 'boolean' },
        tags: { type: 'array' },
        ratio: { type: ['number', 'null'] },
      },
      required: ['unit'],
    });
    expect(rich).toEqual({
      kind: 'form',
      fields: [
        { name: 'unit', kind: 'choice', required: true, choices: ['cm', 'in'], description: 'The unit' },
        { name: 'loud', kind: 'boolean', required: false },
        { name: 'tags', kind: 'json', required: false },
        { name: 'ratio', kind: 'number', required: false },
      ],
    });
  });

  it('takes free text as { text } when the schema names no properties', () => {
    expect(inputModeOf({ type: 'object' })).toEqual({ kind: 'free' });
    expect(inputModeOf(undefined)).toEqual({ kind: 'free' });
  });
});

describe('textInput', () => {
  it('sends text into its property, and a JSON object as it is', () => {
    expect(textInput('(2+3)*7', inputModeOf(CALCULATOR))).toEqual({ expression: '(2+3)*7' });
    expect(textInput('{"expression": "1+1"}', inputModeOf(CALCULATOR))).toEqual({ expression: '1+1' });
    expect(textInput('{not json', inputModeOf(CALCULATOR))).toEqual({ expression: '{not json' });
    expect(textInput('hello', { kind: 'free' })).toEqual({ text: 'hello' });
  });
});

describe('formInput', () => {
  const { fields } = inputModeOf(COUNTDOWN) as { kind: 'form'; fields: never };

  it('reads numbers, and names each field it cannot read', () => {
    expect(formInput(fields, { steps: '3', intervalMs: ' 50 ' })).toEqual({ input: { steps: 3, intervalMs: 50 } });
    expect(formInput(fields, { steps: '2.5', intervalMs: '' })).toEqual({
      errors: { steps: 'must be a whole number', intervalMs: 'is required' },
    });
    expect(formInput(fields, { steps: 'many', intervalMs: '1' })).toEqual({ errors: { steps: 'must be a number' } });
  });

  it('leaves out empty optional fields and reads choices, checkboxes and JSON', () => {
    const rich = inputModeOf({
      type: 'object',
      properties: { unit: { enum: ['cm', 1] }, loud: { type: 'boolean' }, tags: { type: 'array' }, note: { type: 'string' } },
    }) as { kind: 'form'; fields: never };
    expect(formInput(rich.fields, { unit: '1', loud: true, tags: '["a"]', note: '' })).toEqual({
      input: { unit: 1, loud: true, tags: ['a'] },
    });
    expect(formInput(rich.fields, { unit: 'm', loud: false, tags: '[', note: 'x' })).toEqual({
      errors: { unit: 'must be one of the choices', tags: 'must be JSON' },
    });
  });

  it('hints what each field takes', () => {
    expect(fieldHint(fields[0])).toBe('integer, 1–10000');
    expect(fieldHint({ name: 'action', kind: 'string', required: false, minLength: 1, maxLength: 200 })).toBe(
      'text, 1–200 characters, optional',
    );
  });
});
