import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { userRoom } from '../pipeline';
import { TokenService } from './token.service';

/** What the handshake leaves on `socket.data`. */
export interface AuthenticatedSocketData {
  userId: string;
}

const logger = new Logger('SocketAuth');

/**
 * Socket.IO middleware (Nest guards do not run on connect): verifies `auth.token`, records the
 * user on `socket.data` and joins the user's room before the client is told it is connected,
 * so no event of a run started right after connecting can be missed. A refusal reaches the client
 * as `connect_error` with message `unauthorized`, whatever the reason.
 */
export function socketAuthMiddleware(tokens: TokenService) {
  return async (socket: Socket, next: (err?: Error) => void): Promise<void> => {
    try {
      const auth = socket.handshake.auth as Record<string, unknown> | undefined;
      const { userId } = await tokens.verify(auth?.token);
      (socket.data as AuthenticatedSocketData).userId = userId;
      void socket.join(userRoom(userId));
      next();
    } catch (err) {
      logger.debug(`Refused socket ${socket.id}: ${(err as Error).message}`);
      next(new Error('unauthorized'));
    }
  };
}
