import { Injectable, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { TokenService } from '../../auth/token.service';
import { HealthIndicatorRegistry } from './health-indicator.registry';

/**
 * Reports the identity provider's key set as `jwks` when the node verifies tokens with
 * `JWT_JWKS_URL`; absent otherwise. Down (so `/health` answers 503) until the set has been fetched
 * once: a node that cannot verify any token cannot serve anyone. Once loaded it stays up while the
 * URL is unreachable, since the keys already known keep working; `lastError` then says why.
 */
@Injectable()
export class JwksHealthIndicator implements OnModuleInit {
  constructor(
    private readonly tokens: TokenService,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthIndicatorRegistry,
  ) {}

  onModuleInit(): void {
    if (this.tokens.keySet) this.registry.register('jwks', () => this.isHealthy('jwks'));
  }

  isHealthy<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const check = this.indicators.check(key);
    const keySet = this.tokens.keySet!;
    const { loaded, keys, fetchedAt, lastError } = keySet.status();
    const details = {
      url: keySet.url.href,
      keys,
      ...(fetchedAt !== undefined ? { fetchedAt: new Date(fetchedAt).toISOString() } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
    };
    if (!loaded) return check.down({ message: 'The signing key set (JWT_JWKS_URL) is not loaded: no token can be verified.', ...details });
    return check.up(details);
  }
}
