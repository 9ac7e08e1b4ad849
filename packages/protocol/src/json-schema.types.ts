/**
 * A JSON Schema (draft 2020-12) object. The keywords a client needs to build a form are typed;
 * any other keyword may be present too.
 */
export interface JsonSchemaObject {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchemaObject>;
  required?: string[];
  items?: JsonSchemaObject;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  [keyword: string]: unknown;
}
