import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import Ajv2020 from 'ajv/dist/2020';
import { agentInputSchema } from './agent-input.schema';

class Text {
  @IsString()
  text: string;
}

class Ranged {
  @IsInt()
  @Min(1)
  @Max(10_000)
  steps: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  ratio?: number;
}

class Lengths {
  @IsString()
  @Length(1, 200)
  action: string;

  @IsString()
  @MaxLength(1000)
  expression: string;

  @IsString()
  @IsNotEmpty()
  message: string;
}

enum Colour {
  Red = 'red',
  Blue = 'blue',
}

class Choices {
  @IsEnum(Colour)
  colour: Colour;

  @IsIn(['low', 'high'])
  level: string;

  @IsOptional()
  @IsBoolean()
  loud?: boolean;
}

class Address {
  @IsString()
  city: string;
}

class Person {
  @ValidateNested()
  @Type(() => Address)
  home: Address;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(3)
  @ValidateNested({ each: true })
  @Type(() => Address)
  others?: Address[];
}

class Tree {
  @IsString()
  label: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Tree)
  child?: Tree;
}

class Undecorated {
  name?: string;
}

const ajv = new Ajv2020({ strict: false });

describe('agentInputSchema', () => {
  it('is any object for an agent without an input class', () => {
    expect(agentInputSchema(undefined)).toEqual({ type: 'object' });
  });

  it('gives a string property and makes it required', () => {
    expect(agentInputSchema(Text)).toEqual({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
  });

  it('carries integer and number ranges; optional properties are not required', () => {
    expect(agentInputSchema(Ranged)).toEqual({
      type: 'object',
      properties: { steps: { type: 'integer', minimum: 1, maximum: 10_000 }, ratio: { type: 'number', minimum: 0 } },
      required: ['steps'],
    });
  });

  it('carries string lengths (Length, MaxLength, IsNotEmpty)', () => {
    const schema = agentInputSchema(Lengths);
    expect(schema.properties).toEqual({
      action: { type: 'string', minLength: 1, maxLength: 200 },
      expression: { type: 'string', maxLength: 1000 },
      message: { type: 'string', minLength: 1 },
    });
    expect(schema.required).toEqual(['action', 'expression', 'message']);
  });

  it('gives enums for IsEnum and IsIn, and booleans', () => {
    const schema = agentInputSchema(Choices);
    expect(schema.properties?.colour).toMatchObject({ enum: ['red', 'blue'] });
    expect(schema.properties?.level).toMatchObject({ enum: ['low', 'high'] });
    expect(schema.properties?.loud).toEqual({ type: 'boolean' });
    expect(schema.required).toEqual(['colour', 'level']);
  });

  it('inlines nested classes, single and in arrays, so the schema stands alone', () => {
    const schema = agentInputSchema(Person);
    const address = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    expect(schema.properties?.home).toEqual(address);
    expect(schema.properties?.others).toMatchObject({ type: 'array', maxItems: 3, items: address });
    expect(JSON.stringify(schema)).not.toContain('$ref');
    expect(schema.required).toEqual(['home']);
  });

  it('stops at a class nested in itself', () => {
    const schema = agentInputSchema(Tree);
    expect(schema.properties?.child).toEqual({ type: 'object' });
  });

  it('is an object schema for a class with no decorated property', () => {
    expect(agentInputSchema(Undecorated)).toEqual({ type: 'object' });
  });

  it('is computed once per class and cannot be changed by a caller', () => {
    const first = agentInputSchema(Ranged);
    expect(agentInputSchema(Ranged)).toBe(first);
    expect(Object.isFrozen(first.properties?.steps)).toBe(true);
  });

  it('is a valid draft 2020-12 schema that accepts what the class accepts and refuses what it refuses', () => {
    const validate = ajv.compile(agentInputSchema(Person) as object);
    expect(validate({ home: { city: 'Oslo' }, others: [{ city: 'Bergen' }] })).toBe(true);
    expect(validate({ home: { city: 7 } })).toBe(false);
    expect(validate({ others: [] })).toBe(false);
    const ranged = ajv.compile(agentInputSchema(Ranged) as object);
    expect(ranged({ steps: 0 })).toBe(false);
    expect(ranged({ steps: 1.5 })).toBe(false);
    expect(ranged({ steps: 3 })).toBe(true);
  });
});
