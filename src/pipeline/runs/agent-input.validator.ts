import { Injectable } from '@nestjs/common';
import type { RegisteredAgent } from '../agents/agent.registry';
import { sanitizeJson } from '../validation/json-payload';
import { validatePayload } from '../validation/validate-payload';

/** Turns an untrusted `input` into what the agent expects, or throws `VALIDATION_FAILED`. */
@Injectable()
export class AgentInputValidator {
  validate(agent: RegisteredAgent, input: unknown): unknown {
    const clean = sanitizeJson(input === undefined ? null : input, 'input');
    const inputClass = agent.options.input;
    if (!inputClass) return clean;
    const valid = validatePayload(inputClass, clean ?? {}, `input of agent '${agent.options.name}'`, 'input');
    // Agents get a plain object: it is what is stored, replayed and sent back in agent_started.
    return { ...valid };
  }
}
