import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';

/** Input of the `approval` agent. */
export class ApprovalInput {
  /** What the agent asks to do, 1–200 chars. */
  @JSONSchema({ description: 'What the agent asks to do.' })
  @IsString()
  @Length(1, 200)
  action: string;

  /** Expire the question sooner than INTERRUPT_TIMEOUT_MS, in ms. */
  @JSONSchema({ description: 'Expire the question sooner than the server does, in milliseconds.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  timeoutMs?: number;
}

/**
 * Asks its user before it "performs" an action (human in the loop): `interrupt_requested` for the
 * `perform` tool, then performs it when approved, or completes with `declined` when denied or when
 * the question expires. Deterministic, as DESIGN.md's demo-agent table says.
 *
 * Durable: the question and its answer are recorded with the run, so a run waiting for its user
 * keeps waiting across restarts and node deaths, and the answer resumes it on any node.
 */
@Agent({
  name: 'approval',
  description: 'Asks you to approve an action before it performs it (human in the loop).',
  input: ApprovalInput,
  durable: true,
})
export class ApprovalAgent implements AgentHandler<ApprovalInput, string> {
  async run({ input, notifier, interrupt, step }: AgentRunContext<ApprovalInput>): Promise<string> {
    const { action, timeoutMs } = input;
    notifier.thinking(`Asking for approval to ${action}`);
    const args = { action };
    // A random id is made once per run (a resumed run must announce the call the question was about).
    const toolCallId = await step('tool-call-id', () => randomUUID());
    const answer = await interrupt({ kind: 'approval', message: `Approve: ${action}?`, tool: 'perform', args, toolCallId, timeoutMs });
    if (answer.resolution !== 'approved') return 'declined';
    return step('perform', () => {
      const started = performance.now();
      notifier.toolExecuting('perform', args, toolCallId);
      const result = `performed ${action}`;
      notifier.toolCompleted(toolCallId, 'perform', { result }, performance.now() - started);
      return result;
    });
  }
}
