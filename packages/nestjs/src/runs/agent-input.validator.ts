import { Injectable } from '@nestjs/common';
import type { RegisteredAgent } from '../agents/agent.registry';
import { sanitizeJson } from '../validation/json-payload';
import { validatePayload } from '../validation/validate-payload';

/** Turns an untrusted `input` into what the agent expects, or throws `VALIDATION_FAILED`. */
@Injectable()
export class AgentInputValidator {
  validate(agent: RegisteredAgent, input: unknown): unknown {
    const inputClass = agent.options.input;
    if (!inputClass) return sanitizeJson(input ?? null, 'input');
    // validatePayload sanitizes while it validates: one pass over the input, not two.
    const valid = validatePayload(inputClass, input ?? {}, `input of agent '${agent.options.name}'`, 'input');
    // Agents get a plain object: it is what is stored, replayed and sent back in agent_started.
    return { ...valid };
  }
}
