import { Inject, Injectable } from '@nestjs/common';
import { PipelineError } from '../errors/pipeline.error';
import type { AgentEventEnvelope, InterruptRequestedData, InterruptResolution, InterruptAnswer } from '@agent-pipeline/protocol';
import { RUN_STORE } from '../pipeline.tokens';
import { RunCommandBus } from '../runs/run-command.bus';
import type { RunRecord, RunStore } from '../store/run-store.interface';
import { AgentRegistry } from '../agents/agent.registry';
import { DurableRunResumer } from '../durable/durable-run.resumer';

/** How long a resumed run's replay may take to reach the question an answer is for. */
const RESUME_ASK_TIMEOUT_MS = 10_000;

/**
 * Answers interrupts of runs this node does not execute, and reads a waiting run's open question
 * from the store. The node executing a run is the only one that can resolve its question (the
 * agent waits in its memory), so an answer given elsewhere travels there over the command bus;
 * when no node holds it, a durable run is resumed here to take the answer, and otherwise the
 * stored events tell `INTERRUPT_RESOLVED` from `INTERRUPT_NOT_FOUND`.
 */
@Injectable()
export class InterruptAnswerRouter {
  constructor(
    private readonly commands: RunCommandBus,
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly agents: AgentRegistry,
    private readonly resumer: DurableRunResumer,
  ) {}

  /** Answers `interruptId` of `run` (a run of the caller, checked) on the node that executes it. */
  async answerElsewhere(run: RunRecord, interruptId: string, answer: InterruptAnswer): Promise<InterruptResolution> {
    // Only a `waiting` run has an open question: `interrupt_requested` is stored before anyone can
    // know its id, and `interrupt_resolved` before the run reads `running` again.
    if (run.status === 'waiting') {
      const reply = await this.commands.resumeElsewhere({ userId: run.userId, runId: run.runId, interruptId, answer });
      if (reply.kind === 'resolved') return reply.resolution;
      if (reply.kind === 'refused') throw new PipelineError(reply.error.code, reply.error.message, reply.error.details);
      // No live node holds it: a durable run's answer resumes it here.
      const orchestrator = this.agents.get(run.agent)?.durable ? await this.resumer.takeOver(run.runId) : undefined;
      if (orchestrator && (await orchestrator.whenAsking(RESUME_ASK_TIMEOUT_MS))) return orchestrator.answerInterrupt(interruptId, answer);
    }
    // No open question anywhere (answered, expired, the run ended or its node died): was it ever one of the run's?
    const asked = await this.store.getEventsOfType(run.runId, 'interrupt_requested');
    if (asked.some((e) => (e as AgentEventEnvelope<'interrupt_requested'>).data.interruptId === interruptId)) {
      throw new PipelineError(
        'INTERRUPT_RESOLVED',
        `Interrupt '${interruptId}' is closed: it was answered, expired, or its run ended (or its node stopped).`,
      );
    }
    throw new PipelineError('INTERRUPT_NOT_FOUND', `Run '${run.runId}' has no open interrupt '${interruptId}'.`);
  }

  /** The open question of a stored `waiting` run: its last `interrupt_requested` not followed by a resolution. */
  async openInterrupt(run: RunRecord): Promise<InterruptRequestedData | undefined> {
    if (run.status !== 'waiting') return undefined;
    const asked = await this.store.getEventsOfType(run.runId, 'interrupt_requested');
    const last = asked.at(-1) as AgentEventEnvelope<'interrupt_requested'> | undefined;
    if (!last) return undefined;
    const resolved = await this.store.getEventsOfType(run.runId, 'interrupt_resolved');
    return resolved.some((e) => e.seq > last.seq) ? undefined : last.data;
  }
}
