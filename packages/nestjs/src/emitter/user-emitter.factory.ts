import { Injectable } from '@nestjs/common';
import { EventWriteBuffer } from '../store/event-write.buffer';
import { EventPublisher } from './event-publisher';
import { RunEventBus } from './run-event.bus';
import { UserEmitter } from './user.emitter';

/** Makes {@link UserEmitter}s from the shared, stateless publishing parts. */
@Injectable()
export class UserEmitterFactory {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly writer: EventWriteBuffer,
    private readonly bus: RunEventBus,
  ) {}

  create(userId: string): UserEmitter {
    return new UserEmitter(userId, this.publisher, this.writer, this.bus);
  }
}
