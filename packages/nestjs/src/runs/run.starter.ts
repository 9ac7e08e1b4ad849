import { Injectable, Logger } from '@nestjs/common';
import { AgentRegistry, type RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import { newRunIdentity } from '../execution/run-identity';
import { RunTracer } from '../observability/tracing/run-tracer';
import type { IdempotencyClaim } from '../store/run-store.interface';
import { RunEndWaiter } from '../threads/run-end.waiter';
import { ThreadPolicy } from '../threads/thread-policy.service';
import type { StartedRun, StartRunRequest } from './agent.service';
import { AgentInputValidator } from './agent-input.validator';
import { IdempotencyKeyTaken } from './idempotency/idempotency-key.taken';
import { checkIdempotencyKey } from './idempotency/idempotency-key.validation';
import { IdempotentStarts } from './idempotency/idempotent-starts.service';
import { RunAdmission, type RunDraft } from './run-admission.service';
import { RunLauncher } from './run.launcher';
import { RunRegistry } from './run.registry';

/** `Retry-After` of a start refused during shutdown: a restarted or other node answers by then. */
const SHUTDOWN_RETRY_AFTER_SECONDS = 1;

/** The longest user id (as tokens carry them). */
const USER_ID_MAX_CHARS = 128;

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `${value.length} characters` : value === null ? 'null' : typeof value;
}

/**
 * The start path of {@link AgentService.start}: validation, then idempotency, then
 * {@link RunAdmission} (which also stores the run), then the launch on this node.
 */
@Injectable()
export class RunStarter {
  private readonly logger = new Logger(RunStarter.name);
  private accepting = true;

  constructor(
    private readonly agents: AgentRegistry,
    private readonly inputs: AgentInputValidator,
    private readonly admission: RunAdmission,
    private readonly idempotency: IdempotentStarts,
    private readonly tracer: RunTracer,
    private readonly threads: ThreadPolicy,
    private readonly launcher: RunLauncher,
    private readonly registry: RunRegistry,
    private readonly endings: RunEndWaiter,
  ) {}

  /** See {@link AgentService.start}. */
  async start(userId: string, request: StartRunRequest): Promise<StartedRun> {
    // Callers from the app's own code pass what they have (a header, a job's field): a run with no
    // owner could be seen by nobody and could not be stored.
    if (typeof userId !== 'string' || userId.length < 1 || userId.length > USER_ID_MAX_CHARS) {
      throw new PipelineError(
        'VALIDATION_FAILED',
        `A run needs the id of its user: a string of 1–${USER_ID_MAX_CHARS} characters (got ${describeValue(userId)}).`,
      );
    }
    if (!this.accepting) {
      throw new PipelineError(
        'UNAVAILABLE',
        'This server is shutting down and takes no new runs. Retry in a moment or on another node.',
        undefined,
        SHUTDOWN_RETRY_AFTER_SECONDS,
      );
    }
    checkIdempotencyKey(request.idempotencyKey);
    const agent = this.agents.require(request.agent);
    // One walk of the input: a clean copy (depth-limited, so measuring it is safe), then its size
    // and the agent's input class.
    const clean = this.inputs.sanitize(request.input);
    this.admission.checkInputSize(clean);
    const input = this.inputs.validate(agent, clean);
    const key = request.idempotencyKey;
    // A replay is answered before any limit: it starts nothing.
    if (key !== undefined) return this.idempotency.start(userId, key, request, (claim) => this.begin(userId, request, input, agent, claim));
    return this.begin(userId, request, input, agent);
  }

  /** Stops taking new runs (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** A start that passed validation: admitted by the limits (and its thread's policy), stored, launched. */
  private async begin(
    userId: string,
    request: StartRunRequest,
    input: unknown,
    agent: RegisteredAgent,
    claim?: IdempotencyClaim,
  ): Promise<StartedRun> {
    const spent = this.admission.checkCost(userId, agent);
    if (spent) await spent;
    const traceparent = this.tracer.capture(request.traceparent);
    const { runId, threadId } = newRunIdentity(request.threadId);
    const draft: RunDraft = {
      runId,
      userId,
      agent: request.agent,
      threadId,
      input,
      durable: agent.durable,
      traceparent,
      idempotency: claim,
    };
    // A named thread may have runs in flight: its multitask policy decides. A new thread cannot.
    if (request.threadId !== undefined) return this.startOnThread(draft, request);
    await this.admission.reserve(draft);
    try {
      const execution = await this.launcher.prepare(draft);
      await this.admission.storeNew(draft);
      return { runId, threadId, status: 'running', done: this.launcher.launch(draft, execution) };
    } catch (err) {
      await this.admission.release(runId);
      if (!(err instanceof PipelineError) && !(err instanceof IdempotencyKeyTaken)) {
        this.logger.error({ msg: `Run start failed: ${(err as Error).stack}`, runId, userId, agent: request.agent });
      }
      throw err;
    }
  }

  /** A start on a thread the caller named: runs now, waits in the thread's queue, or is refused. */
  private async startOnThread(draft: RunDraft, request: StartRunRequest): Promise<StartedRun> {
    const { runId, threadId, userId } = draft;
    const admitted = await this.threads.admit(draft, request.multitask);
    if (admitted === 'start') {
      try {
        return { runId, threadId, status: 'running', done: this.launcher.launch(draft, await this.launcher.prepare(draft)) };
      } catch (err) {
        // Stored as running, never started: it goes, so it holds neither its thread nor a slot.
        await this.admission.release(runId, true);
        this.logger.error({ msg: `Run start failed: ${(err as Error).stack}`, runId, userId, agent: request.agent });
        throw err;
      }
    }
    const local = this.registry.get(runId)?.orchestrator;
    let done: Promise<RunEnding> | undefined = local?.done;
    const waiter = this.endings;
    return {
      runId,
      threadId,
      status: admitted === 'queued' ? 'queued' : 'running',
      // Made on first use: a caller that never waits (the socket gateway) leaves nothing behind.
      get done() {
        return (done ??= waiter.wait(runId));
      },
    };
  }
}
