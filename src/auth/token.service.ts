import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyLike } from 'jose';
import * as jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app.config';
import { describeJwtAuth, type JwtAuthSettings } from '../config/jwt-auth.settings';
import { JwksKeySet } from './jwks.key-set';

/** Why a token was refused (for logs; clients only ever see `unauthorized` / 401). */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
}

/** What a valid token says about its bearer. */
export interface VerifiedToken {
  /** The user id: the `JWT_USER_CLAIM` claim (`sub` by default), 1–128 characters. */
  userId: string;
  /** The token's `exp`, in ms since the epoch, when the token has one. */
  expiresAt?: number;
}

const USER_ID_MAX = 128;
/** Longer "tokens" are refused before any parsing (real ones are a few kB at most). */
const TOKEN_MAX_CHARS = 8192;

/**
 * Verifies the JWTs of sockets and HTTP requests, one way for both, as the `JWT_*` settings say:
 * HS256 with `JWT_SECRET`; the asymmetric algorithms of `JWT_ALGORITHMS` with the keys of
 * `JWT_JWKS_URL` or with `JWT_PUBLIC_KEY`; `iss` / `aud` when configured; `exp` / `nbf` when present,
 * with `JWT_CLOCK_TOLERANCE_S` of leeway. `none` and algorithms outside the list are always refused.
 *
 * With none of the three key settings it runs development auth: a random per-process secret, and
 * {@link sign} hands out tokens for the dev-token route.
 */
@Injectable()
export class TokenService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenService.name);
  private readonly settings: JwtAuthSettings;
  /** The HS256 secret (configured, or random in development auth); undefined with public keys. */
  private readonly secret?: string;
  private readonly key: Uint8Array | KeyLike | JWTVerifyGetKey;
  /** The remote key set, in JWKS mode only. */
  readonly keySet?: JwksKeySet;

  constructor(private readonly config: AppConfig) {
    this.settings = config.jwt;
    switch (this.settings.mode) {
      case 'jwks':
        this.keySet = new JwksKeySet(this.settings.jwksUrl!);
        this.key = this.keySet.getKey;
        break;
      case 'public-key':
        this.key = this.settings.publicKey!;
        break;
      case 'secret':
      case 'development':
        this.secret = this.settings.secret ?? randomBytes(32).toString('hex');
        this.key = new TextEncoder().encode(this.secret);
        break;
    }
    if (this.settings.mode === 'development') {
      this.logger.warn(
        'DEVELOPMENT AUTH: none of JWT_SECRET, JWT_JWKS_URL, JWT_PUBLIC_KEY is set, so tokens are signed with a random ' +
          'secret that dies with this process and anyone can get one from POST /auth/dev-token. Configure one of them ' +
          'before exposing this server.',
      );
    }
    this.logger.log(describeJwtAuth(this.settings));
  }

  /** Starts fetching the JWKS (without holding up the start: a token that comes first waits for the same fetch). */
  onApplicationBootstrap(): void {
    this.keySet?.start();
  }

  onModuleDestroy(): void {
    this.keySet?.stop();
  }

  /** True when tokens may be minted by `POST /auth/dev-token` (none of the key settings is set). */
  get devAuth(): boolean {
    return this.config.devAuth;
  }

  /**
   * The bearer of a valid token; rejects with {@link TokenRejectedError} (whose message says why,
   * for the debug log) otherwise. Never rejects with anything else.
   */
  async verify(token: unknown): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX_CHARS) {
      throw new TokenRejectedError('missing or oversized token');
    }
    const { algorithms, issuers, audiences, clockToleranceS, userClaim } = this.settings;
    let payload: JWTPayload;
    try {
      const options = {
        algorithms,
        issuer: issuers.length > 0 ? issuers : undefined,
        audience: audiences.length > 0 ? audiences : undefined,
        clockTolerance: clockToleranceS,
      };
      const key = this.key;
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
    } catch (err) {
      throw new TokenRejectedError(reasonOf(err));
    }
    const userId = payload[userClaim];
    if (typeof userId !== 'string' || userId.length < 1 || userId.length > USER_ID_MAX) {
      throw new TokenRejectedError(`the '${userClaim}' claim must be a user id of 1–${USER_ID_MAX} characters`);
    }
    return typeof payload.exp === 'number' ? { userId, expiresAt: payload.exp * 1000 } : { userId };
  }

  /**
   * Signs an HS256 token for `userId` (development auth and tests). Only with a secret: in
   * development auth or with `JWT_SECRET`; with public keys this server cannot sign and throws.
   */
  sign(userId: string, expiresInSeconds = 12 * 3600): string {
    if (this.secret === undefined) {
      throw new Error(`Cannot sign tokens with ${this.settings.mode === 'jwks' ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY'}: only the identity provider can.`);
    }
    return jwt.sign({ [this.settings.userClaim]: userId }, this.secret, { algorithm: 'HS256', expiresIn: expiresInSeconds });
  }
}

/** A short reason for the log: jose's code and message, or the network error of a key fetch. */
function reasonOf(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' && message ? message : String(err);
  return typeof code === 'string' ? `${code}: ${text}` : text;
}
