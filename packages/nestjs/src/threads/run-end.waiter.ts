import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { RunEventBus } from '../emitter/run-event.bus';
import { isInFlightStatus, isTerminalEventType, type AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { RunEnding } from '../execution/request-scoped.orchestrator';
import type { RunOutcome } from '../execution/run-outcome';
import { RUN_STORE } from '../pipeline.tokens';
import type { RunStore } from '../store/run-store.interface';

/** How often the store is read for the end of a run that executes on another node. */
const POLL_MS = 500;

/**
 * Waits for a run's end wherever it executes: a queued run may start on any node, or be
 * cancelled before it starts. Local terminal events arrive through the {@link RunEventBus};
 * the end of a run on another node is read from the shared store.
 */
@Injectable()
export class RunEndWaiter implements OnApplicationShutdown {
  /** Stops of the waits still going (their runs have not ended). */
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly bus: RunEventBus,
    @Inject(RUN_STORE) private readonly store: RunStore,
  ) {}

  /** Resolves with the run's ending once its terminal event is stored (never rejects). */
  wait(runId: string): Promise<RunEnding> {
    return new Promise<RunEnding>((resolve) => {
      let settled = false;
      const stop = () => {
        settled = true;
        unsubscribe();
        clearInterval(poll);
        this.waits.delete(stop);
      };
      const finish = (event: AgentEventEnvelope | undefined) => {
        if (settled) return;
        stop();
        resolve(toEnding(event));
      };
      const unsubscribe = this.bus.subscribe(runId, (event) => {
        if (isTerminalEventType(event.type)) finish(event);
      });
      const look = () =>
        void this.check(runId).then(
          (ended) => ended && finish(ended.event),
          () => undefined,
        );
      const poll = setInterval(look, POLL_MS);
      poll.unref();
      this.waits.add(stop);
      // At once too: the run may have ended before anyone asked.
      look();
    });
  }

  /** The store closes: waits still going stay pending (their runs may end on another node). */
  onApplicationShutdown(): void {
    for (const stop of [...this.waits]) stop();
  }

  private async check(runId: string): Promise<{ event?: AgentEventEnvelope } | undefined> {
    const run = await this.store.getRun(runId);
    if (run && isInFlightStatus(run.status)) return undefined;
    if (!run) return {};
    const events = await this.store.getEvents(runId, Math.max(0, run.lastSeq - 1));
    return { event: events.find((e) => isTerminalEventType(e.type)) };
  }
}

function toEnding(event: AgentEventEnvelope | undefined): RunEnding {
  const data = (event?.data ?? {}) as { result?: unknown; durationMs?: number; code?: string; message?: string; reason?: string };
  let outcome: RunOutcome;
  switch (event?.type) {
    case 'agent_completed':
      outcome = { kind: 'completed', result: data.result ?? null };
      break;
    case 'agent_error':
      outcome = { kind: 'error', code: (data.code ?? 'AGENT_FAILED') as 'AGENT_FAILED', message: data.message ?? '' };
      break;
    default:
      // A run deleted before it started ends as cancelled too: it will never produce anything.
      outcome = { kind: 'cancelled', reason: data.reason ?? 'deleted' };
  }
  return { outcome, durationMs: data.durationMs ?? 0 };
}
