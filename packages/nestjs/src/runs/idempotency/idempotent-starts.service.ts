import { Inject, Injectable } from '@nestjs/common';
import type { RunStatus } from '@agent-pipeline/protocol';
import { PipelineError } from '../../errors/pipeline.error';
import type { RunEnding } from '../../execution/request-scoped.orchestrator';
import { PIPELINE_OPTIONS, RUN_STORE } from '../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import type { IdempotencyClaim, IdempotentRun, RunStore } from '../../store/run-store.interface';
import { RunEndWaiter } from '../../threads/run-end.waiter';
import { RunRegistry } from '../run.registry';
import { IdempotencyKeyTaken } from './idempotency-key.taken';
import { IdempotentStartGate } from './idempotent-start.gate';
import { idempotencyFreshAfter } from './idempotency-ttl';
import { differingField, requestFingerprint, type FingerprintedRequest } from './request.fingerprint';

/** A start answered by the run its idempotency key already names. */
export interface ReplayedStart {
  runId: string;
  threadId: string;
  /** The run's status now (any status: it may have ended since). */
  status: RunStatus;
  replayed: true;
  /** Settles when the run's terminal event is stored (at once for a run that has ended). */
  readonly done: Promise<RunEnding>;
}

/**
 * Exactly-once starts (DESIGN.md, "Idempotent starts"). A start with an idempotency key first
 * looks for the run the user's key names (younger than `IDEMPOTENCY_TTL_MS`): the same request
 * is answered with that run and starts nothing (before any limit is counted); another request
 * is refused with `IDEMPOTENCY_CONFLICT`. Otherwise the start goes ahead and stores its run with
 * the key. Starts with one key line up on this node ({@link IdempotentStartGate}); across nodes the
 * store's per-user transaction decides, and a start that lost there is answered as a replay too.
 */
@Injectable()
export class IdempotentStarts {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    @Inject(PIPELINE_OPTIONS) private readonly options: ResolvedPipelineOptions,
    private readonly gate: IdempotentStartGate,
    private readonly registry: RunRegistry,
    private readonly endings: RunEndWaiter,
  ) {}

  /**
   * Starts `request` once per user and `key`: `begin` starts it for real (storing its run with the
   * claim it is given) unless the key already names a run, which answers instead.
   */
  start<T>(
    userId: string,
    key: string,
    request: FingerprintedRequest,
    begin: (claim: IdempotencyClaim) => Promise<T>,
  ): Promise<T | ReplayedStart> {
    const fingerprint = requestFingerprint(request);
    return this.gate.serialize(userId, key, async () => {
      const holder = await this.store.findIdempotentRun(userId, key, this.freshAfter());
      if (holder) return this.replay(key, holder, fingerprint);
      try {
        return await begin({ key, fingerprint });
      } catch (err) {
        if (err instanceof IdempotencyKeyTaken) return this.replay(key, err.holder, fingerprint);
        throw err;
      }
    });
  }

  /** Keys of runs created before this no longer name them. */
  freshAfter(): Date {
    return idempotencyFreshAfter(this.options.idempotencyTtlMs);
  }

  private replay(key: string, holder: IdempotentRun, fingerprint: string): ReplayedStart {
    const field = differingField(holder.fingerprint, fingerprint);
    if (field) {
      throw new PipelineError(
        'IDEMPOTENCY_CONFLICT',
        `Idempotency key '${key}' already names run '${holder.runId}', which was started with another ${field}. ` +
          'Send the same request to get that run again, or use a new key for a new request.',
        { idempotencyKey: key, runId: holder.runId, field },
      );
    }
    const { runId } = holder;
    const local = this.registry.get(runId)?.orchestrator?.done;
    let done: Promise<RunEnding> | undefined = local;
    const endings = this.endings;
    return {
      runId,
      threadId: holder.threadId,
      status: holder.status,
      replayed: true,
      // Made on first use: a caller that never waits (the socket gateway) leaves nothing behind.
      get done() {
        return (done ??= endings.wait(runId));
      },
    };
  }
}
