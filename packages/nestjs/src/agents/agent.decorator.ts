import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import type { AgentOptions } from './agent.interface';

export const AGENT_METADATA = Symbol('AGENT_METADATA');

/**
 * Marks a provider as an agent. Register the class as a provider of any module; the pipeline
 * discovers it at start-up. An agent that injects request-scoped providers is resolved per run
 * inside that run's DI context.
 *
 * @example
 * ＠Agent({ name: 'echo', description: 'Repeats the text it is given.', input: EchoInput })
 * export class EchoAgent implements AgentHandler<EchoInput, string> { … }
 */
export function Agent(options: AgentOptions): ClassDecorator {
  return applyDecorators(SetMetadata(AGENT_METADATA, options), Injectable());
}
