import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyLike } from 'jose';
import * as jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import { PIPELINE_OPTIONS } from '../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../pipeline.options';
import { describeAuth, type ResolvedAuth, type VerifiedToken } from './auth.options';
import { JwksKeySet } from './jwks.key-set';

export type { VerifiedToken } from './auth.options';

/** Why a token was refused (for logs; clients only ever see `unauthorized` / 401). */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
}

const USER_ID_MAX = 128;
/** Longer "tokens" are refused before any parsing (real ones are a few kB at most). */
const TOKEN_MAX_CHARS = 8192;

/**
 * Verifies the tokens of sockets and HTTP requests, one way for both, as the `auth` option says:
 * the app's own `verify(token)`; HS256 JWTs with a secret; the asymmetric algorithms of
 * `auth.algorithms` with the keys of a JWKS URL or a public key; `iss` / `aud` when configured;
 * `exp` / `nbf` when present, with `clockToleranceS` of leeway. `none` and algorithms outside the
 * list are always refused.
 *
 * In development auth it makes a random per-process secret, and {@link sign} hands out tokens for
 * the dev-token route.
 */
@Injectable()
export class TokenService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenService.name);
  private readonly settings: ResolvedAuth;
  /** The HS256 secret (configured, or random in development auth); undefined with public keys. */
  private readonly secret?: string;
  private readonly key?: Uint8Array | KeyLike | JWTVerifyGetKey;
  /** The remote key set, in JWKS mode only. */
  readonly keySet?: JwksKeySet;

  constructor(@Inject(PIPELINE_OPTIONS) options: ResolvedPipelineOptions) {
    this.settings = options.auth;
    switch (this.settings.mode) {
      case 'custom':
        break;
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
        'DEVELOPMENT AUTH: no key is configured, so tokens are signed with a random secret that dies with this ' +
          'process and anyone can get one from POST /auth/dev-token. Configure a secret, a JWKS URL or a public key ' +
          'before exposing this server.',
      );
    }
    this.logger.log(describeAuth(this.settings));
  }

  /** Starts fetching the JWKS (without holding up the start: a token that comes first waits for the same fetch). */
  onApplicationBootstrap(): void {
    this.keySet?.start();
  }

  onModuleDestroy(): void {
    this.keySet?.stop();
  }

  /** True when tokens may be minted by `POST /auth/dev-token` (development auth). */
  get devAuth(): boolean {
    return this.settings.mode === 'development';
  }

  /** Leeway for token expiry, in seconds (a socket whose token expired is closed after it). */
  get clockToleranceS(): number {
    return this.settings.clockToleranceS;
  }

  /**
   * The bearer of a valid token; rejects with {@link TokenRejectedError} (whose message says why,
   * for the debug log) otherwise. Never rejects with anything else.
   */
  async verify(token: unknown): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_MAX_CHARS) {
      throw new TokenRejectedError('missing or oversized token');
    }
    if (this.settings.verify) return this.verifyCustom(token);
    const { algorithms, issuers, audiences, clockToleranceS, userClaim } = this.settings;
    let payload: JWTPayload;
    try {
      const options = {
        algorithms,
        issuer: issuers.length > 0 ? issuers : undefined,
        audience: audiences.length > 0 ? audiences : undefined,
        clockTolerance: clockToleranceS,
      };
      const key = this.key!;
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

  /** The app's own `verify(token)`: its answer is checked as a JWT's claims would be. */
  private async verifyCustom(token: string): Promise<VerifiedToken> {
    let verified: VerifiedToken | null;
    try {
      verified = await this.settings.verify!(token);
    } catch (err) {
      throw new TokenRejectedError(`auth.verify threw: ${reasonOf(err)}`);
    }
    if (verified === null || verified === undefined) throw new TokenRejectedError('auth.verify refused the token');
    const { userId, expiresAt } = verified;
    if (typeof userId !== 'string' || userId.length < 1 || userId.length > USER_ID_MAX) {
      throw new TokenRejectedError(`auth.verify must resolve a userId of 1–${USER_ID_MAX} characters`);
    }
    if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
      throw new TokenRejectedError('auth.verify resolved an expiresAt that is not a time in ms');
    }
    if (expiresAt !== undefined && expiresAt <= Date.now()) throw new TokenRejectedError('the token has expired (auth.verify)');
    return expiresAt === undefined ? { userId } : { userId, expiresAt };
  }

  /**
   * Signs an HS256 token for `userId` (development auth and tests). Only with a secret: in
   * development auth or with `JWT_SECRET`; with public keys this server cannot sign and throws.
   */
  sign(userId: string, expiresInSeconds = 12 * 3600): string {
    if (this.secret === undefined) {
      throw new Error(
        this.settings.mode === 'custom'
          ? "Cannot sign tokens with auth.verify: the app's own tokens come from the app."
          : `Cannot sign tokens with ${this.settings.mode === 'jwks' ? 'a JWKS URL' : 'a public key'}: only the identity provider can.`,
      );
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
