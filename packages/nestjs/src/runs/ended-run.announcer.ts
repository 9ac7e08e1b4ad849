import { Injectable } from '@nestjs/common';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { EventPublisher } from '../emitter/event-publisher';
import { RunEventBus } from '../emitter/run-event.bus';
import { userRoom } from '../emitter/user-room';

/**
 * Tells a run's user (their room, and this node's followers) about an event the store wrote by
 * itself, with no notifier behind it: the end of a run no node executes.
 */
@Injectable()
export class EndedRunAnnouncer {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly bus: RunEventBus,
  ) {}

  announce({ userId, event }: { userId: string; event: AgentEventEnvelope }): void {
    this.publisher.publish(userRoom(userId), event);
    this.bus.publish(event);
  }
}
