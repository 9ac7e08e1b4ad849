import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { AppConfig } from '../config/app.config';

/** Why a token was refused (for logs; clients only ever see `unauthorized`). */
export class TokenRejectedError extends Error {}

const USER_ID_MAX = 128;

/** What a valid token says about its bearer. */
export interface VerifiedToken {
  userId: string;
  /** When the token expires (its `exp`), in ms since the epoch; absent when it has none. */
  expiresAt?: number;
}

/**
 * Verifies HS256 JWTs (`sub` = user id, `exp` enforced when present; every other algorithm,
 * `none` included, refused). In development auth it uses a random per-process secret and can
 * mint tokens for the dev-token route.
 */
@Injectable()
export class TokenService {
  private readonly logger = new Logger(TokenService.name);
  private readonly secret: string;

  constructor(private readonly config: AppConfig) {
    if (config.jwtSecret) {
      this.secret = config.jwtSecret;
    } else {
      this.secret = randomBytes(32).toString('hex');
      this.logger.warn(
        'DEVELOPMENT AUTH: JWT_SECRET is not set, so tokens are signed with a random secret that dies with this ' +
          'process and anyone can get one from POST /auth/dev-token. Set JWT_SECRET before exposing this server.',
      );
    }
  }

  /** True when tokens may be minted by `POST /auth/dev-token`. */
  get devAuth(): boolean {
    return this.config.devAuth;
  }

  /** The bearer of a valid token; throws {@link TokenRejectedError} otherwise. */
  verify(token: unknown): VerifiedToken {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) {
      throw new TokenRejectedError('missing or oversized token');
    }
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.secret, { algorithms: ['HS256'] });
    } catch (err) {
      throw new TokenRejectedError((err as Error).message);
    }
    const sub = typeof payload === 'object' ? payload.sub : undefined;
    if (typeof sub !== 'string' || sub.length < 1 || sub.length > USER_ID_MAX) {
      throw new TokenRejectedError('sub must be a user id of 1–128 characters');
    }
    const exp = typeof payload === 'object' ? payload.exp : undefined;
    return typeof exp === 'number' ? { userId: sub, expiresAt: exp * 1000 } : { userId: sub };
  }

  /** Signs a token for `userId` (development auth and tests). */
  sign(userId: string, expiresInSeconds = 12 * 3600): string {
    return jwt.sign({ sub: userId }, this.secret, { algorithm: 'HS256', expiresIn: expiresInSeconds });
  }
}
