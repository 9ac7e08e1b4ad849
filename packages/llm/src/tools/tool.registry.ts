import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { checkSchema } from '@agent-pipeline/nestjs';
import { TOOL_METADATA } from './tool.decorator';
import type { ToolHandler, ToolOptions } from './tool.interface';

/** A tool found at start-up. */
export interface RegisteredTool {
  readonly options: ToolOptions;
  readonly handler: ToolHandler;
}

/** The OpenAI function-name rule, so a tool name is never refused by the provider mid-run. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Discovers `@Tool()` providers of the whole app at start-up (like the pipeline's agent
 * registry discovers agents) and checks each one: a valid unique name, an `object` parameters
 * schema that is valid JSON Schema, and a singleton provider. A bad tool stops the
 * app at start-up with a message that says how to fix it.
 */
@Injectable()
export class ToolRegistry implements OnModuleInit {
  private readonly tools = new Map<string, RegisteredTool>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const options = toolOptionsOf(wrapper);
      if (options) this.register(options, wrapper);
    }
  }

  /** Every tool, in registration order. */
  list(): RegisteredTool[] {
    return [...this.tools.values()];
  }

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  /** The registered names, for messages. */
  names(): string[] {
    return [...this.tools.keys()];
  }

  private register(options: ToolOptions, wrapper: InstanceWrapper): void {
    const className = (wrapper.metatype as { name?: string } | undefined)?.name ?? String(wrapper.token);
    if (!TOOL_NAME.test(options.name)) {
      throw new Error(`@Tool() on ${className} has the invalid name '${options.name}': use 1–64 letters, digits, '_' or '-'.`);
    }
    const existing = this.tools.get(options.name);
    if (existing) {
      throw new Error(
        `Two tools are named '${options.name}': ${className} and ${existing.handler.constructor.name}. ` +
          'Tool names must be unique; rename one of them in its @Tool() decorator.',
      );
    }
    const problems = options.parameters?.type === 'object' ? checkSchema(options.parameters) : ["#/type must be 'object'"];
    if (problems.length > 0) {
      throw new Error(`@Tool() on ${className} ('${options.name}') has invalid parameters:\n  - ${problems.join('\n  - ')}`);
    }
    // A tool is called from the singleton assistant agent, which has no DI context to resolve it in.
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient || !wrapper.instance) {
      throw new Error(
        `@Tool() on ${className} ('${options.name}') must be a singleton provider: it, or something it injects, ` +
          'is request-scoped or transient. Read per-run data from the ToolContext passed to execute() instead.',
      );
    }
    this.tools.set(options.name, { options, handler: wrapper.instance as ToolHandler });
  }
}

function toolOptionsOf(wrapper: InstanceWrapper): ToolOptions | undefined {
  const metatype = wrapper.metatype;
  if (!metatype || typeof metatype !== 'function' || wrapper.inject) return undefined;
  return Reflect.getMetadata(TOOL_METADATA, metatype) as ToolOptions | undefined;
}
