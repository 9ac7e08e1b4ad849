import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import type { ToolOptions } from './tool.interface';

export const TOOL_METADATA = Symbol('TOOL_METADATA');

/**
 * Marks a provider as a tool of the `assistant` agent. Register the class as a provider of any
 * module of the app; the tool registry discovers it at start-up and offers it to the model.
 *
 * @example
 * ＠Tool({
 *   name: 'lookup_order',
 *   description: 'Finds an order by its number.',
 *   parameters: { type: 'object', properties: { number: { type: 'string' } }, required: ['number'] },
 * })
 * export class LookupOrderTool implements ToolHandler<{ number: string }> { … }
 */
export function Tool(options: ToolOptions): ClassDecorator {
  return applyDecorators(SetMetadata(TOOL_METADATA, options), Injectable());
}
