import type { Type } from '@nestjs/common';
import type { JsonSchemaObject } from '@agent-pipeline/protocol';
import { ValidationTypes } from 'class-validator';
import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { ISchemaConverters, SchemaConverter } from 'class-validator-jsonschema/build/defaultConverters';

// class-transformer keeps its `@Type()` / `@Expose()` metadata here and exports it from no typed entry point.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerMetadataStorage };

/** The schema of an agent that declares no input class: any JSON object. */
const ANY_OBJECT: JsonSchemaObject = Object.freeze({ type: 'object' });

const cache = new WeakMap<Type<object>, JsonSchemaObject>();

/**
 * The JSON Schema of an agent's input, derived from the class-validator decorators of its input
 * class (types, required and optional properties, lengths, ranges, enums, nested classes inlined);
 * `{ type: 'object' }` for an agent without one. Computed once per class and frozen, so every
 * listing serves the same object.
 */
export function agentInputSchema(inputClass: Type<object> | undefined): JsonSchemaObject {
  if (!inputClass) return ANY_OBJECT;
  let schema = cache.get(inputClass);
  if (!schema) {
    schema = deepFreeze(classSchema(inputClass, new Set()));
    cache.set(inputClass, schema);
  }
  return schema;
}

function classSchema(target: Function, enclosing: Set<Function>): JsonSchemaObject {
  const inside = new Set(enclosing).add(target);
  const schema = targetConstructorToSchema(target, {
    classTransformerMetadataStorage: defaultMetadataStorage,
    additionalConverters: nestedConverters(inside),
  }) as JsonSchemaObject;
  // A class without a single decorated property converts to `{}`; its instances are still objects.
  return { type: 'object', ...schema };
}

/**
 * The converter's own nested handling emits `$ref: '#/definitions/<Class>'` into a definitions
 * map the caller must assemble; an agent's schema has to stand alone (MCP tools, forms), so
 * nested classes are inlined. A class nested in itself becomes a plain object at the repeat.
 */
function nestedConverters(enclosing: Set<Function>): ISchemaConverters {
  return {
    [ValidationTypes.NESTED_VALIDATION]: (meta) => {
      const target = meta.target as Function;
      const typeMeta = defaultMetadataStorage.findTypeMetadata(target, meta.propertyName);
      const child = (
        typeMeta ? typeMeta.typeFunction() : Reflect.getMetadata('design:type', target.prototype, meta.propertyName)
      ) as unknown;
      if (typeof child !== 'function' || child === Object || child === Array || enclosing.has(child)) return { type: 'object' };
      return classSchema(child, enclosing) as ReturnType<SchemaConverter>;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
