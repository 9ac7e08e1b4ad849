import type { Type } from '@nestjs/common';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import type { ConstraintMetadata } from 'class-validator/types/metadata/ConstraintMetadata';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/** The parts of class-transformer's metadata storage a plan needs to know that it has nothing to do. */
interface TransformerStorage {
  findTypeMetadata(target: Function, propertyName: string): unknown;
  findTransformMetadatas(target: Function, propertyName: string, transformationType: number): unknown[];
  getExposedMetadatas(target: Function): unknown[];
  getExcludedMetadatas(target: Function): unknown[];
}

/** class-transformer's `TransformationType.PLAIN_TO_CLASS`. */
const PLAIN_TO_CLASS = 0;

/** The same storage `plainToInstance` reads (the path `@nestjs/mapped-types` reads it from too). */
const transformerStorage: TransformerStorage | undefined = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS module without typings of its own
    return (require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerStorage }).defaultMetadataStorage;
  } catch {
    return undefined;
  }
})();

/** One property's checks, in class-validator's order. */
interface PropertyPlan {
  name: string;
  /** `@IsOptional()`, `@ValidateIf()`: when one says no, nothing else of the property is checked. */
  conditions: ValidationMetadata[];
  /** `@IsDefined()` (checked even for a missing value), then every other constraint. */
  checks: { metadata: ValidationMetadata; constraint: ConstraintMetadata }[];
}

/**
 * A class's class-validator and class-transformer metadata, read once, as a plan that accepts an
 * ordinary valid payload without their per-call work: class-validator looks every class with
 * metadata up again and regroups the class's metadata on each call, class-transformer walks its
 * storage for every key.
 *
 * The plan only answers "valid, and here is the instance" — for a payload `plainToInstance` and
 * `validateSync({ whitelist: true, forbidUnknownValues: false })` would accept, made the same way
 * (`new cls()`, the known keys copied, the others left out) and checked by class-validator's own
 * constraint instances with the same arguments. It says `undefined` for everything else: a
 * constraint that fails (the full pass writes the messages), a property value that is an object or
 * an array (class-transformer copies those), and, for every payload, a class that uses what the
 * plan does not do (nested or promise validation, async constraints, class-transformer
 * decorators, accessors or methods named like a property, a property initialised to a function).
 */
export class ValidationPlan<T extends object> {
  /** Each class's plan, made at its first payload (its decorators have all run by then); null: none. */
  private static readonly plans = new WeakMap<Function, ValidationPlan<object> | null>();

  private constructor(
    private readonly cls: Type<T>,
    private readonly properties: PropertyPlan[],
    private readonly known: ReadonlySet<string>,
  ) {}

  /** The plan of `cls`, made once, or `undefined` when the class uses something the plan does not do. */
  static for<T extends object>(cls: Type<T>): ValidationPlan<T> | undefined {
    let plan = ValidationPlan.plans.get(cls);
    if (plan === undefined) ValidationPlan.plans.set(cls, (plan = ValidationPlan.make(cls) ?? null));
    return (plan ?? undefined) as ValidationPlan<T> | undefined;
  }

  private static make<T extends object>(cls: Type<T>): ValidationPlan<T> | undefined {
    if (!transformerStorage) return undefined;
    if (transformerStorage.getExposedMetadatas(cls).length > 0 || transformerStorage.getExcludedMetadatas(cls).length > 0) return undefined;
    const storage = getMetadataStorage();
    // The arguments `validateSync` passes for options without groups, `always` or `strictGroups`.
    const metadatas = storage.getTargetValidationMetadatas(cls, undefined as unknown as string, false, false, undefined);
    const grouped = storage.groupByPropertyName(metadatas);
    const properties: PropertyPlan[] = [];
    for (const [name, group] of Object.entries(grouped)) {
      if (name in cls.prototype) return undefined;
      if (transformerStorage.findTypeMetadata(cls, name) !== undefined) return undefined;
      if (transformerStorage.findTransformMetadatas(cls, name, PLAIN_TO_CLASS).length > 0) return undefined;
      const plan: PropertyPlan = { name, conditions: [], checks: [] };
      const defined: PropertyPlan['checks'] = [];
      for (const metadata of group) {
        switch (metadata.type) {
          case ValidationTypes.WHITELIST:
            break;
          case ValidationTypes.CONDITIONAL_VALIDATION:
            plan.conditions.push(metadata);
            break;
          case ValidationTypes.IS_DEFINED:
          case ValidationTypes.CUSTOM_VALIDATION:
            for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
              if (constraint.async) return undefined;
              (metadata.type === ValidationTypes.IS_DEFINED ? defined : plan.checks).push({ metadata, constraint });
            }
            break;
          default:
            return undefined;
        }
      }
      plan.checks.unshift(...defined);
      properties.push(plan);
    }
    return new ValidationPlan(cls, properties, new Set(Object.keys(grouped)));
  }

  /**
   * The instance class-validator would accept `clean` (a sanitized JSON object) as, or `undefined`:
   * then the payload takes class-validator's full pass.
   */
  accept(clean: Record<string, unknown>): T | undefined {
    const instance = new this.cls() as Record<string, unknown>;
    for (const key of Object.keys(instance)) if (!this.known.has(key)) delete instance[key];
    for (const key of Object.keys(clean)) {
      if (!this.known.has(key)) continue;
      const value = clean[key];
      if (typeof value === 'object' && value !== null) return undefined;
      if (typeof instance[key] === 'function') return undefined;
      instance[key] = value;
    }
    for (const property of this.properties) {
      const value = instance[property.name];
      let validate = true;
      // All conditions are asked, as class-validator asks them.
      for (const condition of property.conditions)
        validate = (condition.constraints[0] as (o: object, v: unknown) => boolean)(instance, value) && validate;
      if (!validate) continue;
      for (const { metadata, constraint } of property.checks) {
        const args: ValidationArguments = {
          targetName: this.cls.name,
          property: metadata.propertyName,
          object: instance,
          value,
          constraints: metadata.constraints,
        };
        const valid: unknown = constraint.instance.validate(value, args);
        // A promise (an object) is the full pass's to await.
        if (typeof valid === 'object' || !valid) return undefined;
      }
    }
    return instance as T;
  }
}
