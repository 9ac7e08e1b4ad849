import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { EventWriteBuffer } from '../store/event-write.buffer';
import type { EventPublisher } from './event-publisher';
import type { RunEventBus } from './run-event.bus';
import { userRoom } from './user-room';

/**
 * Publishes one user's events: to the room `user:<userId>` (every socket of that user and no
 * other), to the run store, and to local followers. Holds no state but the user's room.
 */
export class UserEmitter {
  /** The only room this emitter ever publishes to. */
  readonly room: string;

  constructor(
    readonly userId: string,
    private readonly publisher: EventPublisher,
    private readonly writer: EventWriteBuffer,
    private readonly bus: RunEventBus,
  ) {
    this.room = userRoom(userId);
  }

  /** A non-terminal event: out to the user at once, stored with the next batch. */
  emit(event: AgentEventEnvelope): void {
    this.writer.append(event);
    this.publisher.publish(this.room, event);
    this.bus.publish(event);
  }

  /**
   * An event of a durable run: published only once it is stored, so what anyone sees of the run
   * is what a resumed run finds in the store (it never reuses a seq with other content). Returns
   * a promise that settles once the event is out.
   */
  emitDurable(event: AgentEventEnvelope): Promise<void> {
    return new Promise<void>((resolve) =>
      this.writer.appendThen(event, () => {
        this.publisher.publish(this.room, event);
        this.bus.publish(event);
        resolve();
      }),
    );
  }

  /**
   * A terminal event: stored together with every earlier event of the run before anyone sees it,
   * so a client that receives it can always replay the whole run.
   */
  emitTerminal(event: AgentEventEnvelope): Promise<void> {
    return this.emitStored(event);
  }

  /**
   * An event that changes the run's stored status (a terminal event, an interrupt opening or
   * closing): stored before anyone sees it, so a client that reacts to it reads the new status.
   */
  async emitStored(event: AgentEventEnvelope): Promise<void> {
    this.writer.append(event);
    try {
      await this.writer.flushSoon();
    } finally {
      // Published even when the store is failing (the writer keeps retrying): the user must see the end.
      this.publisher.publish(this.room, event);
      this.bus.publish(event);
    }
  }
}
