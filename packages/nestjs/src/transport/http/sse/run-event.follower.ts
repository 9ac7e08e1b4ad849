import { Injectable } from '@nestjs/common';
import { AgentService } from '../../../runs/agent.service';
import { isInFlightStatus, isTerminalEventType, type AgentEventEnvelope } from '@agent-pipeline/protocol';
import { PipelineError } from '../../../errors/pipeline.error';
import { RunEventBus } from '../../../emitter/run-event.bus';

/** Receives the events of a followed run. */
export interface RunEventSink {
  /** One event; seqs strictly increase and never repeat. */
  event(event: AgentEventEnvelope): void;
  /** Nothing more will come: the terminal event was delivered, or the run ended at or before `afterSeq`. */
  end(): void;
}

/**
 * One follower of one run, from {@link RunEventFollower.open}. It delivers every event after
 * `afterSeq` exactly once and in order: the stored ones first, then the ones that arrived while
 * the store was read, then live ones, until the terminal event.
 */
export class RunFollow {
  private readonly pending: AgentEventEnvelope[] = [];
  private stored: AgentEventEnvelope[] = [];
  private sink?: RunEventSink;
  private unsubscribe?: () => void;
  private lastSeq: number;
  private finished = false;
  /** True when the run had ended before its events were read: the stored ones are all there is. */
  private endedBeforeRead = false;

  /** @internal Made by {@link RunEventFollower}. */
  constructor(
    private readonly agents: AgentService,
    private readonly userId: string,
    readonly runId: string,
    afterSeq: number,
  ) {
    this.lastSeq = afterSeq;
  }

  /** Seq of the last event delivered (the starting `afterSeq` before any). */
  get lastDeliveredSeq(): number {
    return this.lastSeq;
  }

  /** True once the run's end was delivered or the follower was stopped. */
  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Starts delivering to `sink`: stored events, then buffered ones, then live ones. Calls
   * `sink.end()` (synchronously, if the run is already over) after the terminal event.
   */
  start(sink: RunEventSink): void {
    if (this.sink) throw new Error(`Run ${this.runId} is already being followed by this RunFollow.`);
    this.sink = sink;
    const queued = this.stored.concat(this.pending.splice(0));
    this.stored = [];
    for (const event of queued) this.deliver(event);
    if (!this.finished && this.endedBeforeRead) this.finish();
  }

  /**
   * Reads the store for events after the last one delivered, for events this process is not told
   * about (a run executing on another node). Ends the follow if the run no longer exists.
   */
  async catchUp(): Promise<void> {
    if (this.finished || !this.sink) return;
    try {
      const { events } = await this.agents.replay(this.userId, this.runId, this.lastSeq);
      for (const event of events) this.deliver(event);
    } catch (err) {
      if (err instanceof PipelineError && err.code === 'RUN_NOT_FOUND') this.finish();
      else throw err;
    }
  }

  /** Stops following without calling `sink.end()` (the client went away). Idempotent. */
  stop(): void {
    this.finished = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** @internal */
  attach(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
  }

  /** @internal */
  setStored(events: AgentEventEnvelope[], endedBeforeRead: boolean): void {
    this.stored = events;
    this.endedBeforeRead = endedBeforeRead;
  }

  /** @internal Called by the event bus, synchronously, on the emitting run's path. */
  receive(event: AgentEventEnvelope): void {
    if (this.finished) return;
    if (this.sink) this.deliver(event);
    else this.pending.push(event);
  }

  private deliver(event: AgentEventEnvelope): void {
    // Whatever was already delivered (a stored event also seen live, a replayed copy) is dropped.
    if (this.finished || event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.sink!.event(event);
    if (isTerminalEventType(event.type)) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.stop();
    this.sink?.end();
  }
}

/**
 * Follows runs for transports that stream them (Server-Sent Events): stored events from
 * `AgentService`, live ones from the in-process `RunEventBus`, without losing or doubling an
 * event between the two.
 */
@Injectable()
export class RunEventFollower {
  constructor(
    private readonly agents: AgentService,
    private readonly bus: RunEventBus,
  ) {}

  /**
   * Opens a follow of one of the user's runs. Rejects with `RUN_NOT_FOUND` (unknown run or another
   * user's) before anything is subscribed. Call `start(sink)` on the result, and `stop()` when done.
   */
  async open(userId: string, runId: string, afterSeq: number): Promise<RunFollow> {
    // Read before subscribing: it proves the run is the user's, and a run that had ended by then
    // has every event stored, so the read below is all there is to send.
    const before = await this.agents.getRun(userId, runId);
    const follow = new RunFollow(this.agents, userId, runId, afterSeq);
    // Subscribed before the events are read: one emitted meanwhile is buffered rather than lost.
    follow.attach(this.bus.subscribe(runId, (event) => follow.receive(event)));
    try {
      const { events } = await this.agents.replay(userId, runId, afterSeq);
      follow.setStored(events, !isInFlightStatus(before.status));
    } catch (err) {
      follow.stop();
      throw err;
    }
    return follow;
  }
}
