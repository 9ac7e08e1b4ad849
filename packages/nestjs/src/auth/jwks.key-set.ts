import { Logger } from '@nestjs/common';
import { createRemoteJWKSet, jwksCache, type JWKSCacheInput, type JWTVerifyGetKey } from 'jose';

/** How a {@link JwksKeySet} fetches; every field in milliseconds. */
export interface JwksTimings {
  /** Least time between two fetches caused by tokens with an unknown `kid`. @default 30000 */
  cooldownMs: number;
  /** A fetch that takes longer fails. @default 5000 */
  timeoutMs: number;
  /** How often a loaded key set is fetched again in the background (keys removed by the provider drop out). @default 600000 */
  refreshMs: number;
  /** How often a key set that never loaded is tried again in the background. @default 5000 */
  retryMs: number;
}

/**
 * The timings every new {@link JwksKeySet} starts with. Not configuration: the values are those of
 * the well-trusted verifiers. Tests shorten them (each Jest file has its own copy of this module).
 */
export const JWKS_TIMINGS: JwksTimings = { cooldownMs: 30_000, timeoutMs: 5_000, refreshMs: 600_000, retryMs: 5_000 };

/** What `/health` reports about the key set. */
export interface JwksStatus {
  loaded: boolean;
  /** Keys in the set last fetched. */
  keys: number;
  /** When the set was last fetched (ms since epoch). */
  fetchedAt?: number;
  /** Why the last fetch failed, when it did (known keys keep working meanwhile). */
  lastError?: string;
}

/**
 * The signing keys of an identity provider, fetched from its JWKS URL with jose's remote key set:
 * cached, fetched again on an unknown `kid` at most once per cooldown, with a fetch timeout.
 *
 * Unlike jose's default, keys never expire on their own while the URL is down: jose would refetch a
 * set older than its max age before every verification, and a provider outage would then refuse
 * every token (or make each wait for the timeout). Here the set is refreshed in the background and
 * a failed refresh keeps the keys already known.
 */
export class JwksKeySet {
  private readonly logger = new Logger('JwksKeySet');
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly timings: JwksTimings;
  /** jose writes every fetched set here (`uat` = when): the one record of what is loaded. */
  private readonly cache: JWKSCacheInput = {};
  private lastError?: { message: string; at: number };
  private timer?: NodeJS.Timeout;

  constructor(
    readonly url: URL,
    timings: Partial<JwksTimings> = {},
  ) {
    this.timings = { ...JWKS_TIMINGS, ...timings };
    this.remote = createRemoteJWKSet(url, {
      cooldownDuration: this.timings.cooldownMs,
      timeoutDuration: this.timings.timeoutMs,
      // Staleness is handled by the background refresh (see the class comment).
      cacheMaxAge: Infinity,
      [jwksCache]: this.cache,
    });
  }

  /** The key for a token's header, for jose's `jwtVerify`; fetches the set when it has none yet or the `kid` is new. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await this.remote(header, token);
    } catch (err) {
      // The lookup fetched and the fetch failed: remember why, for /health and the log.
      if (isFetchFailure(err)) this.noteFailure(err as Error);
      throw err;
    }
  };

  /** Whether a key set has been fetched at least once (without one, no token can be verified). */
  get loaded(): boolean {
    return 'uat' in this.cache;
  }

  /** The state reported by `/health`. */
  status(): JwksStatus {
    const fetchedAt = 'uat' in this.cache ? this.cache.uat : undefined;
    const keys = 'jwks' in this.cache ? this.cache.jwks.keys.length : 0;
    // A failure older than the last successful fetch is over.
    const failing = this.lastError && (fetchedAt === undefined || this.lastError.at >= fetchedAt);
    return { loaded: fetchedAt !== undefined, keys, fetchedAt, lastError: failing ? this.lastError!.message : undefined };
  }

  /** Fetches the set now; resolves `true` when it loaded. Never rejects. */
  async refresh(): Promise<boolean> {
    const wasFailing = this.status().lastError !== undefined;
    try {
      await this.remote.reload();
    } catch (err) {
      this.noteFailure(err as Error);
      return false;
    }
    const { keys } = this.status();
    if (wasFailing) this.logger.log(`Fetched ${keys} signing key(s) from ${this.url.href} again.`);
    else this.logger.debug(`Fetched ${keys} signing key(s) from ${this.url.href}.`);
    return true;
  }

  /** Prefetches the set (without waiting for it) and keeps it fresh in the background until {@link stop}. */
  start(): void {
    const loop = async () => {
      await this.refresh();
      if (this.timer === undefined) return; // stopped meanwhile
      this.timer = setTimeout(() => void loop(), this.loaded ? this.timings.refreshMs : this.timings.retryMs);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void loop(), 0);
    this.timer.unref();
  }

  /** Stops the background refresh. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private noteFailure(err: Error): void {
    const first = this.status().lastError === undefined;
    const message = `${err.name}: ${err.message}`;
    this.lastError = { message, at: Date.now() };
    const consequence = this.loaded ? 'the keys already known keep working' : 'no token can be verified until it loads';
    if (first) this.logger.warn(`Could not fetch the signing keys from ${this.url.href} (${message}); ${consequence}.`);
    else this.logger.debug(`Could not fetch the signing keys from ${this.url.href} (${message}).`);
  }
}

/** Errors of the fetch itself (network, timeout, bad answer), as opposed to a token without a matching key. */
function isFetchFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') return true;
  // jose's other codes are about the token or its key; anything else (ECONNREFUSED, …) is the network.
  return !(typeof code === 'string' && code.startsWith('ERR_J'));
}
