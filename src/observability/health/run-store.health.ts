import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RUN_STORE } from '../../pipeline';
import type { RunStore } from '../../pipeline';
import { HealthIndicatorRegistry } from './health-indicator.registry';
import { withTimeout } from './with-timeout';

/** How long the store may take to answer a ping before it counts as down. */
export const RUN_STORE_PING_TIMEOUT_MS = 2000;

/** Reports the run store (`RUN_STORE.ping()`) as `store`: up when it answers within 2 s. */
@Injectable()
export class RunStoreHealthIndicator implements OnModuleInit {
  constructor(
    @Inject(RUN_STORE) private readonly store: RunStore,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthIndicatorRegistry,
  ) {}

  onModuleInit(): void {
    this.registry.register('store', () => this.isHealthy('store'));
  }

  async isHealthy<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const check = this.indicators.check(key);
    try {
      await withTimeout(this.store.ping(), RUN_STORE_PING_TIMEOUT_MS);
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error)?.message ?? 'The run store does not answer.' });
    }
  }
}
