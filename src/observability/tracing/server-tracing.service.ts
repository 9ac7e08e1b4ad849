import { Global, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { PipelineTracingOptions } from '@agent-pipeline/nestjs';
import { AppConfig } from '../../config/app.config';
import type { ServerTracingHandle } from './server-tracing';

/**
 * The server's trace SDK, started when the `OTEL_*` variables configure an exporter (and not at
 * all otherwise: the pipeline then gets `tracing: false` and makes no span). Its last spans are
 * sent when the app closes, after the runs have ended.
 */
@Injectable()
export class ServerTracing implements OnApplicationShutdown {
  private readonly handle?: ServerTracingHandle;

  constructor(private readonly config: AppConfig) {
    if (!config.tracing) return;
    // Loaded only when tracing is on: a server without an exporter never loads the SDK at all.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startServerTracing } = require('./server-tracing') as typeof import('./server-tracing');
    this.handle = startServerTracing(config.tracing);
  }

  /** The pipeline's `tracing` option. */
  get pipelineOption(): PipelineTracingOptions | false {
    return this.handle ? { tracerProvider: this.handle.provider, recordUserId: this.config.tracing?.recordUserId === true } : false;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.handle?.shutdown();
  }
}

/** Provides {@link ServerTracing} to the whole app (the pipeline's options factory injects it). */
@Global()
@Module({ providers: [ServerTracing], exports: [ServerTracing] })
export class ServerTracingModule {}
