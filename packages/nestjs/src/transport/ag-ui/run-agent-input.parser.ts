import type { ResumeEntry, RunAgentInput } from '@ag-ui/core';
import { PipelineError } from '../../errors/pipeline.error';
import type { InterruptAnswer } from '@agent-pipeline/protocol';

// The schemas are a subpath export, which this project's CommonJS type resolution does not read:
// the types come from the file, the value from the package's export.
type Schemas = typeof import('@ag-ui/core/dist/schemas');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RunAgentInputSchema } = require('@ag-ui/core/schemas') as Schemas;

/** At most this many validation problems are reported in `details.fields`. */
const MAX_REPORTED_ISSUES = 20;
/** The thread ids `POST /runs` and `run:start` accept. */
const THREAD_ID = /^[\w.:-]{1,128}$/;
/** The request's own run id is only echoed back in the events; it is bounded all the same. */
const MAX_RUN_ID_LENGTH = 256;

/**
 * A request body checked against AG-UI's own `RunAgentInput` schema; `VALIDATION_FAILED` (400)
 * with one entry per problem otherwise.
 */
export function parseRunAgentInput(body: unknown): RunAgentInput {
  const parsed = RunAgentInputSchema.safeParse(body);
  if (parsed.success) {
    const input = parsed.data as RunAgentInput;
    // Our own rules for what AG-UI leaves open: a thread id like every thread id of this server.
    if (!THREAD_ID.test(input.threadId)) {
      throw invalid([{ field: 'threadId', errors: ['1 to 128 letters, digits, "_", "-", "." or ":"'] }]);
    }
    if (input.runId.length === 0 || input.runId.length > MAX_RUN_ID_LENGTH) {
      throw invalid([{ field: 'runId', errors: [`1 to ${MAX_RUN_ID_LENGTH} characters`] }]);
    }
    return input;
  }
  throw invalid(
    parsed.error.issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => ({
      field: issue.path.length > 0 ? issue.path.join('.') : '(body)',
      errors: [issue.message],
    })),
  );
}

function invalid(fields: { field: string; errors: string[] }[]): PipelineError {
  return new PipelineError(
    'VALIDATION_FAILED',
    `The body is not a valid AG-UI RunAgentInput: ${fields[0]?.field}: ${fields[0]?.errors[0]}`,
    {
      fields,
    },
  );
}

/**
 * The agent's input: `forwardedProps.input` when the client sends one, else `{ text }` with the
 * text of the last user message (undefined when there is none: the agent's own validation answers).
 * Earlier messages are not fed to the agent: conversation memory lives on the server, per thread.
 */
export function agentInputOf(input: RunAgentInput): unknown {
  const forwarded: unknown = input.forwardedProps;
  if (typeof forwarded === 'object' && forwarded !== null && !Array.isArray(forwarded) && 'input' in forwarded) {
    const value = (forwarded as { input?: unknown }).input;
    if (value !== undefined) return value;
  }
  for (let i = input.messages.length - 1; i >= 0; i--) {
    const message = input.messages[i];
    if (message.role === 'user') return { text: textOf(message.content) };
  }
  return undefined;
}

/** The text of a user message's content: the string itself, or its text parts joined. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is { type: 'text'; text: string } => part?.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
}

/** The answer a request's `resume` entry gives to the question its thread's run waits on. */
export interface ResumeAnswer {
  interruptId: string;
  answer: InterruptAnswer;
}

/**
 * The request's `resume` entry, as our answer: status `cancelled` is a denial; `resolved` carries
 * `payload` `{ approved }` or `{ response }` (and an optional `reason`). Undefined without one;
 * `VALIDATION_FAILED` for more than one (a run asks one question at a time) or a payload that is
 * neither.
 */
export function resumeAnswerOf(input: RunAgentInput): ResumeAnswer | undefined {
  const resume = (input as { resume?: ResumeEntry[] }).resume;
  if (!Array.isArray(resume) || resume.length === 0) return undefined;
  if (resume.length > 1) {
    throw invalid([{ field: 'resume', errors: ['one entry: a run waits on one question at a time'] }]);
  }
  const [{ interruptId, status, payload }] = resume;
  const given = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const reason = typeof given.reason === 'string' ? { reason: given.reason } : {};
  if (status === 'cancelled') return { interruptId, answer: { approved: false, ...reason } };
  if ('response' in given) return { interruptId, answer: { response: given.response, ...reason } };
  if (typeof given.approved === 'boolean') return { interruptId, answer: { approved: given.approved, ...reason } };
  throw invalid([{ field: 'resume.0.payload', errors: ['{ "approved": true | false } or { "response": … }'] }]);
}
