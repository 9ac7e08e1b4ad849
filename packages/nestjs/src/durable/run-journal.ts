import type { AgentEventEnvelope, InterruptRequestedData, InterruptResolvedData, ResumeReason } from '@agent-pipeline/protocol';
import type { StepRecord } from './durable-step.types';

/** How a resumed attempt of a durable run begins. */
export interface ResumePoint {
  /** The number of this attempt (2, 3, …). */
  attempt: number;
  reason: ResumeReason;
  /** Every event the earlier attempts stored, in seq order (seq 1 first, without gaps). */
  events: readonly AgentEventEnvelope[];
  steps: readonly StepRecord[];
}

/** A question of the earlier attempt, found where the replay asks it again. */
export interface RecalledInterrupt {
  requested: InterruptRequestedData;
  /** Its answer, when it had one; otherwise the run was waiting and the question opens again. */
  resolved?: InterruptResolvedData;
}

/**
 * What a durable run knows about its earlier attempts: their events (the run's event log is the
 * journal) and their recorded steps. One per run, made by the bridge; a fresh run of a durable
 * agent has an empty one. The notifier walks it while the resumed `run()` replays.
 */
export class RunJournal {
  private readonly steps: Map<string, StepRecord>;
  private readonly events: readonly AgentEventEnvelope[];
  /** Seq of the last stored event of the earlier attempts (0 for a fresh run). */
  readonly afterSeq: number;

  constructor(
    /** Whether the run's agent is durable: only then are steps recorded and events published once stored. */
    readonly durable: boolean,
    readonly resume?: ResumePoint,
  ) {
    this.steps = new Map((resume?.steps ?? []).map((s) => [s.name, s]));
    this.events = resume?.events ?? [];
    this.afterSeq = this.events.length > 0 ? this.events[this.events.length - 1].seq : 0;
  }

  /** The step recorded under `name` by an earlier attempt, if any. */
  recordedStep(name: string): StepRecord | undefined {
    return this.steps.get(name);
  }

  /** The stored event at `seq`, if the earlier attempts reached it. */
  storedAt(seq: number): AgentEventEnvelope | undefined {
    const event = this.events[seq - 1];
    return event?.seq === seq ? event : this.events.find((e) => e.seq === seq);
  }

  /**
   * Running time the earlier attempts used (toward `RUN_TIMEOUT_MS`), from their events: each
   * attempt counts from its first event to its last, less the time it waited for an answer. The
   * moments between an attempt's last event and its node's death are not known, so not counted.
   */
  usedRunningMs(): number {
    let used = 0;
    let segmentStart: number | undefined;
    let previous: number | undefined;
    for (const event of this.events) {
      const at = Date.parse(event.ts);
      switch (event.type) {
        case 'agent_started':
          segmentStart = at;
          break;
        case 'interrupt_resolved':
          // Open already when a resumed run's answer came (agent_resumed just before).
          segmentStart ??= at;
          break;
        case 'agent_resumed':
          if (segmentStart !== undefined && previous !== undefined) used += previous - segmentStart;
          segmentStart = at;
          break;
        case 'interrupt_requested':
          if (segmentStart !== undefined) used += at - segmentStart;
          segmentStart = undefined;
          break;
      }
      previous = at;
    }
    if (segmentStart !== undefined && previous !== undefined) used += previous - segmentStart;
    return Math.max(0, used);
  }
}
