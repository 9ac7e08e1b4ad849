import { Injectable } from '@nestjs/common';
import type { RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import { sanitizeJson } from '../validation/json-payload';
import { validateSanitized } from '../validation/validate-payload';

/**
 * Turns an untrusted `input` into what the agent expects, or throws `VALIDATION_FAILED`, in one
 * walk: {@link sanitize} copies it once (transports hand it over untouched), and {@link validate}
 * checks the copy against the agent's input class without copying it again.
 */
@Injectable()
export class AgentInputValidator {
  /**
   * A clean copy of the input (JSON only, no prototype keys, at most 64 levels deep), or
   * `undefined` when there is none. Safe to measure and store; throws `VALIDATION_FAILED`.
   */
  sanitize(input: unknown): unknown {
    return input === undefined ? undefined : sanitizeJson(input, 'input');
  }

  /** Validates a {@link sanitize}d input against the agent's input class (if it has one). */
  validate(agent: RegisteredAgent, clean: unknown): unknown {
    const inputClass = agent.options.input;
    if (!inputClass) return clean ?? null;
    const what = `input of agent '${agent.options.name}'`;
    const value = clean ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      throw new PipelineError('VALIDATION_FAILED', `The ${what} must be a JSON object; got ${got}.`, {
        fields: [{ field: 'input', errors: ['must be an object'] }],
      });
    }
    // Agents get a plain object: it is what is stored, replayed and sent back in agent_started.
    return { ...validateSanitized(inputClass, value, what) };
  }
}
