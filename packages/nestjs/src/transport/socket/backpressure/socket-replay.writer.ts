import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { AgentService } from '../../../runs/agent.service';
import { type RunRecord } from '../../../store/run-store.interface';
import { pendingOutgoingBytes } from './outgoing-bytes';
import { SlowConsumerGuard } from './slow-consumer.guard';

/** Events read from the store at a time: a replay holds one page in memory, not the whole run. */
const PAGE_EVENTS = 500;
/** Events written between two looks at the socket's unsent bytes. */
const CHECK_EVERY_EVENTS = 32;
/** Unsent bytes a replay lets pile up before it waits for the client to read (at most a quarter of the limit). */
const HIGH_WATER_BYTES = 256 * 1024;

/** The outcome of a replay: the run as it stood after its last page, and whether the socket is still there. */
export interface ReplayWritten {
  run: RunRecord;
  delivered: boolean;
}

/**
 * Writes `run:replay` to one socket at the pace the client reads: pages of stored events, and
 * between chunks of a page a wait until the socket's unsent data is below half the high-water
 * mark. A slow client catching up on a large run therefore never trips `SOCKET_MAX_BUFFERED_BYTES`
 * (which would start a disconnect–reconnect–replay loop), and a replay holds one page in memory.
 */
@Injectable()
export class SocketReplayWriter {
  private readonly highWater: number;

  constructor(
    private readonly agents: AgentService,
    private readonly guard: SlowConsumerGuard,
  ) {
    this.highWater = Math.min(HIGH_WATER_BYTES, Math.floor(guard.maxBufferedBytes / 4));
  }

  /**
   * Emits to `socket` only, in order, every stored event of the user's run with `seq > afterSeq`.
   * Resolves with the run as {@link AgentService.replay} describes it, `lastSeq` being the last
   * event written (or what `afterSeq` already covered).
   */
  async write(socket: Socket, userId: string, runId: string, afterSeq: number): Promise<ReplayWritten> {
    // `local` delivers at once: a plain socket.emit goes through the adapter when connection state
    // recovery is on, and with the Redis adapter that would let the ack overtake the events.
    const toThisSocket = socket.nsp.local.to(socket.id);
    let after = afterSeq;
    for (;;) {
      const { run, events } = await this.agents.replay(userId, runId, after, PAGE_EVENTS);
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        toThisSocket.emit(event.type, event);
        if ((i + 1) % CHECK_EVERY_EVENTS === 0 && pendingOutgoingBytes(socket) > this.highWater) {
          if (!(await this.guard.waitForRoom(socket, this.highWater / 2))) return { run, delivered: false };
        }
      }
      if (events.length < PAGE_EVENTS) return { run, delivered: socket.connected };
      after = run.lastSeq;
    }
  }
}
