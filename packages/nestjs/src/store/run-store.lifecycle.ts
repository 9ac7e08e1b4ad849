import { Inject, Injectable, OnApplicationShutdown, Logger } from '@nestjs/common';
import { RUN_STORE } from '../pipeline.tokens';
import { EventWriteBuffer } from './event-write.buffer';
import type { RunStore } from './run-store.interface';

/** Writes the last buffered events, then closes the store: in that order, once, at shutdown. */
@Injectable()
export class RunStoreLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger(RunStoreLifecycle.name);

  constructor(
    private readonly writer: EventWriteBuffer,
    @Inject(RUN_STORE) private readonly store: RunStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.writer.flush();
    } catch (err) {
      this.logger.error(`${this.writer.pendingCount} events could not be stored at shutdown: ${(err as Error).message}`);
    }
    await this.store.close();
  }
}
