import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { InterruptAnswer, InterruptRequestedData } from '@agent-pipeline/protocol';

type RequestedSchema = ElicitRequestFormParams['requestedSchema'];

const PRIMITIVE_TYPES = new Set(['string', 'number', 'integer', 'boolean']);

/**
 * The form an MCP client shows for a question the run asks: Approve / a reason for an `approval`;
 * the question's own `responseSchema` for an `input`, when it is a flat object of primitive
 * properties (all that MCP elicitation forms can hold). `undefined` when the question cannot be
 * put as a form: it then waits for an answer from the user's other channels.
 */
export function elicitationOf(question: InterruptRequestedData): ElicitRequestFormParams | undefined {
  if (question.kind === 'approval') {
    return {
      message: question.message,
      requestedSchema: {
        type: 'object',
        properties: {
          approved: { type: 'boolean', title: 'Approve', description: question.message },
          reason: { type: 'string', title: 'Reason', description: 'Optional: why, in your words.' },
        },
        required: ['approved'],
      },
    };
  }
  const schema = question.responseSchema as { type?: unknown; properties?: Record<string, { type?: unknown }> } | undefined;
  if (schema?.type !== 'object' || typeof schema.properties !== 'object' || schema.properties === null) return undefined;
  const flat = Object.values(schema.properties).every((p) => typeof p === 'object' && p !== null && PRIMITIVE_TYPES.has(p.type as string));
  return flat ? { message: question.message, requestedSchema: schema as RequestedSchema } : undefined;
}

/**
 * The answer an elicitation result gives the question, or `undefined` when it gives none (the
 * user dismissed the form, or declined an input question): the question stays open for the
 * user's other channels.
 */
export function answerOf(question: InterruptRequestedData, result: ElicitResult): InterruptAnswer | undefined {
  const content = (result.content ?? {}) as Record<string, unknown>;
  if (question.kind === 'approval') {
    if (result.action === 'decline') return { approved: false };
    if (result.action !== 'accept') return undefined;
    const reason = typeof content.reason === 'string' && content.reason.trim() !== '' ? { reason: content.reason } : {};
    return { approved: content.approved === true, ...reason };
  }
  return result.action === 'accept' ? { response: content } : undefined;
}

/** Whether the client declared that it can show elicitation forms. */
export function canElicitForms(capabilities: { elicitation?: { form?: object; url?: object } } | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  // An empty `elicitation: {}` (the older declaration) means forms.
  return elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
}
