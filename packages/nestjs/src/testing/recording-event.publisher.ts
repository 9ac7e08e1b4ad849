import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { EventPublisher } from '../emitter/event-publisher';

/** One published event and the room it was published to. */
export interface PublishedEvent {
  room: string;
  event: AgentEventEnvelope;
}

/**
 * An {@link EventPublisher} that keeps what would have gone to Socket.IO rooms, in order, so
 * DI-level tests can assert on rooms and events without a server.
 */
export class RecordingEventPublisher extends EventPublisher {
  readonly published: PublishedEvent[] = [];

  publish(room: string, event: AgentEventEnvelope): void {
    this.published.push({ room, event });
  }

  /** Events of one run, in publication order. */
  eventsOf(runId: string): AgentEventEnvelope[] {
    return this.published.filter((p) => p.event.runId === runId).map((p) => p.event);
  }

  /** The distinct rooms a run's events went to. */
  roomsOf(runId: string): string[] {
    return [...new Set(this.published.filter((p) => p.event.runId === runId).map((p) => p.room))];
  }

  clear(): void {
    this.published.length = 0;
  }
}
