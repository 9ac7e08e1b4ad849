import { plainToInstance, Type as TransformType } from 'class-transformer';
import * as classValidator from 'class-validator';
import {
  Allow,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
  Validate,
  ValidatorConstraint,
  validateSync,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { sanitizeJson } from './json-payload';
import { validateSanitized } from './validate-payload';
import { ValidationPlan } from './validation-plan';

class Flat {
  @IsString()
  @MaxLength(5)
  text!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  count?: number;
}

class WithDefaults {
  @IsOptional()
  @IsIn(['a', 'b'])
  mode: string = 'a';

  /** Not decorated: class-validator's whitelist removes it from every instance. */
  internal = 5;

  @Allow()
  anything?: unknown;

  @IsDefined()
  required!: unknown;
}

class Conditional {
  @IsString()
  kind!: string;

  @ValidateIf((o: Conditional) => o.kind === 'limit')
  @IsInt()
  limit?: number;
}

class Parent {
  @IsString()
  id!: string;
}
class Child extends Parent {
  @IsOptional()
  @IsString()
  note?: string;
}

@ValidatorConstraint({ name: 'even' })
class IsEven implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'number' && value % 2 === 0;
  }
}
class Custom {
  @Validate(IsEven)
  n!: number;
}

class Nested {
  @ValidateNested()
  @TransformType(() => Flat)
  flat!: Flat;
}
@ValidatorConstraint({ name: 'slow', async: true })
class Slow implements ValidatorConstraintInterface {
  validate(): Promise<boolean> {
    return Promise.resolve(true);
  }
}
class Async {
  @Validate(Slow)
  x!: string;
}
class Transformed {
  @TransformType(() => Number)
  @IsInt()
  n!: number;
}
class Accessor {
  @IsString()
  get name(): string {
    return 'fixed';
  }
}

/** What class-validator and class-transformer make of a payload: the instance, or its errors. */
function fullPass<T extends object>(cls: new () => T, clean: Record<string, unknown>): { instance: T; errors: number } {
  const instance = plainToInstance(cls, clean);
  return { instance, errors: validateSync(instance, { whitelist: true, forbidUnknownValues: false }).length };
}

const CASES: [new () => object, Record<string, unknown>[]][] = [
  [
    Flat,
    [
      { text: 'hi' },
      { text: '' },
      { text: 'hi', count: 3 },
      { text: 'hi', count: null },
      { text: 'hi', extra: 1, other: { a: 1 } },
      { text: 'toolong' },
      { text: 5 },
      {},
      { text: 'hi', count: 0 },
      { text: 'hi', count: 2.5 },
      { text: 'hi', count: '3' },
      { text: ['a'] },
      { text: { a: 1 } },
    ],
  ],
  [
    WithDefaults,
    [
      { required: 1 },
      { required: 'x', mode: 'b', internal: 9 },
      { mode: 'a' },
      { required: null },
      { required: 1, mode: 'c' },
      { required: 1, anything: 'q' },
      { required: 1, anything: [1] },
    ],
  ],
  [
    Conditional,
    [{ kind: 'none' }, { kind: 'none', limit: 'x' }, { kind: 'limit', limit: 3 }, { kind: 'limit' }, { kind: 'limit', limit: 'x' }],
  ],
  [Child, [{ id: 'a' }, { id: 'a', note: 'n' }, { note: 'n' }, { id: 'a', note: 1 }]],
  [Custom, [{ n: 2 }, { n: 3 }, {}]],
];

describe('ValidationPlan', () => {
  describe.each(CASES)('%p', (cls, payloads) => {
    const plan = ValidationPlan.for(cls as new () => object)!;

    it('has a plan', () => expect(plan).toBeDefined());

    it.each(payloads.map((p) => [JSON.stringify(p), p]))(
      '%s: accepts only what the full pass accepts, as the same instance',
      (_, payload) => {
        const clean = sanitizeJson(payload, 'input') as Record<string, unknown>;
        const full = fullPass(cls, clean);
        const accepted = plan.accept(sanitizeJson(payload, 'input') as Record<string, unknown>);
        if (full.errors > 0) {
          expect(accepted).toBeUndefined();
          return;
        }
        const hasObjectValue = Object.keys(full.instance).some((k) => typeof clean[k] === 'object' && clean[k] !== null);
        if (hasObjectValue) {
          // Left to class-transformer, which copies objects (the keys it strips do not count).
          expect(accepted).toBeUndefined();
          return;
        }
        expect(accepted).toBeInstanceOf(cls);
        expect(Object.entries(accepted!)).toEqual(Object.entries(full.instance));
      },
    );
  });

  it('takes the plan for an ordinary payload, so validation does not regroup metadata', () => {
    expect(ValidationPlan.for(Flat)!.accept({ text: 'hi', count: 2 })).toEqual(Object.assign(new Flat(), { text: 'hi', count: 2 }));
  });

  it.each([
    ['nested validation', Nested],
    ['an async constraint', Async],
    ['a class-transformer decorator', Transformed],
    ['an accessor named like a property', Accessor],
  ])('has no plan for a class with %s', (_, cls) => {
    expect(ValidationPlan.for(cls as new () => object)).toBeUndefined();
  });

  it('validateSanitized takes the plan for an ordinary payload and class-validator for the rest', () => {
    const full = jest.spyOn(classValidator, 'validateSync');
    try {
      expect({ ...validateSanitized(Flat, { text: 'hi' }, 'input') }).toEqual({ text: 'hi', count: undefined });
      expect(full).not.toHaveBeenCalled();
      expect(() => validateSanitized(Flat, { text: 'toolong' }, 'input')).toThrow('text must be shorter');
      expect(full).toHaveBeenCalledTimes(1);
    } finally {
      full.mockRestore();
    }
  });

  it('validateSanitized: the same results and messages with or without a plan', () => {
    expect({ ...validateSanitized(Flat, { text: 'hi', junk: 1 }, 'input') }).toEqual({ text: 'hi' });
    expect(() => validateSanitized(Flat, { text: 'toolong' }, 'input')).toThrow(
      'Invalid input: text must be shorter than or equal to 5 characters.',
    );
    expect(() => validateSanitized(Custom, { n: 3 }, 'input')).toThrow(/n /);
    expect({ ...validateSanitized(Nested, { flat: { text: 'ok' } }, 'input') }.flat).toBeInstanceOf(Flat);
  });
});
