import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { PipelineError } from '../errors/pipeline.error';
import type { AgentInfo } from '@agent-pipeline/protocol';
import { AGENT_METADATA } from './agent.decorator';
import type { AgentHandler, AgentOptions } from './agent.interface';
import { closestName } from './closest-name';
import { agentInputSchema } from './schema/agent-input.schema';

/** An agent found at start-up. */
export interface RegisteredAgent {
  readonly options: AgentOptions;
  /** The provider's token, to resolve it in a run's context when it is not a singleton. */
  readonly token: unknown;
  /** The singleton instance, when the agent's dependency tree is static. */
  readonly instance?: AgentHandler;
  /** Its runs outlive their node (`@Agent({ durable: true })`). */
  readonly durable: boolean;
}

const AGENT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Discovers `@Agent()` providers at start-up and looks them up by name. */
@Injectable()
export class AgentRegistry implements OnModuleInit {
  private readonly agents = new Map<string, RegisteredAgent>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const options = agentOptionsOf(wrapper);
      if (options) this.register(options, wrapper);
    }
  }

  /** Every registered agent, in registration order. */
  list(): AgentInfo[] {
    return [...this.agents.values()].map(({ options }) => ({
      name: options.name,
      description: options.description,
      inputSchema: agentInputSchema(options.input),
      durable: options.durable === true,
    }));
  }

  get(name: string): RegisteredAgent | undefined {
    return this.agents.get(name);
  }

  /** The agent of that name, or an `UNKNOWN_AGENT` error that lists the names there are. */
  require(name: string): RegisteredAgent {
    const agent = this.agents.get(name);
    if (agent) return agent;
    const names = [...this.agents.keys()];
    const suggestion = closestName(name, names);
    throw new PipelineError(
      'UNKNOWN_AGENT',
      `Unknown agent '${name}'. Registered agents: ${names.join(', ') || '(none)'}.` + (suggestion ? ` Did you mean '${suggestion}'?` : ''),
      { agent: name, available: names },
    );
  }

  private register(options: AgentOptions, wrapper: InstanceWrapper): void {
    const className = (wrapper.metatype as { name?: string } | undefined)?.name ?? String(wrapper.token);
    if (!AGENT_NAME.test(options.name)) {
      throw new Error(`@Agent() on ${className} has the invalid name '${options.name}': use 1–64 letters, digits, '-', '_' or '.'.`);
    }
    const existing = this.agents.get(options.name);
    if (existing) {
      throw new Error(
        `Two agents are named '${options.name}': ${className} and ${describeToken(existing.token)}. ` +
          'Agent names must be unique; rename one of them in its @Agent() decorator.',
      );
    }
    // Derived now, so an input class the converter cannot read fails the start, not a listing.
    agentInputSchema(options.input);
    const isStatic = wrapper.isDependencyTreeStatic() && !wrapper.isTransient;
    this.agents.set(options.name, {
      options,
      token: wrapper.token,
      instance: isStatic ? (wrapper.instance as AgentHandler) : undefined,
      durable: options.durable === true,
    });
  }
}

function agentOptionsOf(wrapper: InstanceWrapper): AgentOptions | undefined {
  const metatype = wrapper.metatype;
  if (!metatype || typeof metatype !== 'function' || wrapper.inject) return undefined;
  return Reflect.getMetadata(AGENT_METADATA, metatype) as AgentOptions | undefined;
}

function describeToken(token: unknown): string {
  return typeof token === 'function' ? token.name : String(token);
}
