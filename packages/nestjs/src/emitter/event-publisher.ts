import type { AgentEventEnvelope } from '@agent-pipeline/protocol';

/**
 * Where a run's events go besides the store: the transport that reaches the user's sockets.
 * The Socket.IO gateway provides the real one; tests may provide a recorder.
 */
export abstract class EventPublisher {
  /** Publishes one event to the room of `userId` (every socket of that user, on every node). */
  abstract publish(room: string, event: AgentEventEnvelope): void;

  /**
   * At shutdown, once the last runs have ended: delivers what was published, then closes the
   * connections, within `timeoutMs`. Nothing to do for a publisher without connections.
   */
  drainAndClose(_timeoutMs: number): Promise<void> {
    return Promise.resolve();
  }
}
