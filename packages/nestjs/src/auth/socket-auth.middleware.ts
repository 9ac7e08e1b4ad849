import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { userRoom } from '../emitter/user-room';
import { TokenService } from './token.service';

/** What the handshake leaves on `socket.data`. */
export interface AuthenticatedSocketData {
  userId: string;
  /** When the socket's token expires (ms since the epoch); absent when it never does. */
  tokenExpiresAt?: number;
}

const logger = new Logger('SocketAuth');

/**
 * Socket.IO middleware (Nest guards do not run on connect): verifies `auth.token`, records the
 * user on `socket.data` and joins the user's room before the client is told it is connected,
 * so no event of a run started right after connecting can be missed. A refusal reaches the client
 * as `connect_error` with message `unauthorized`, whatever the reason.
 *
 * @param onRefused Called for each refused handshake (metrics).
 */
export function socketAuthMiddleware(tokens: TokenService, onRefused: () => void = () => undefined) {
  const authenticate = async (socket: Socket): Promise<void> => {
    const auth = socket.handshake.auth as Record<string, unknown> | undefined;
    const { userId, expiresAt } = await tokens.verify(auth?.token);
    const data = socket.data as Partial<AuthenticatedSocketData>;
    // A recovered session keeps its rooms: only the user it belongs to may take it up.
    if (socket.recovered && data.userId !== undefined && data.userId !== userId) {
      throw new Error('the recovered session belongs to another user');
    }
    data.userId = userId;
    data.tokenExpiresAt = expiresAt;
    await socket.join(userRoom(userId));
  };
  return (socket: Socket, next: (err?: Error) => void): void => {
    authenticate(socket).then(
      () => next(),
      (err: unknown) => {
        logger.debug(`Refused socket ${socket.id}: ${(err as Error)?.message ?? err}`);
        onRefused();
        next(new Error('unauthorized'));
      },
    );
  };
}
