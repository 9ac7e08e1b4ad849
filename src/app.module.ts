import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AgentPipelineModule, PipelineHttpErrorFilter } from '@agent-pipeline/nestjs';
import { LlmModule } from '@agent-pipeline/llm';
import { AppConfigModule } from './config/app-config.module';
import { AppConfig } from './config/app.config';
import { DemoAgentsModule } from './demo-agents/demo-agents.module';
import { DemoToolsModule } from './demo-agents/tools/demo-tools.module';
import { ObservabilityModule } from './observability/observability.module';
import { ServerTracing, ServerTracingModule } from './observability/tracing/server-tracing.service';
import { WebModule } from './web/web.module';

/** Settings that exist only as environment variables; see the README's Configuration table. */
export type EnvironmentOverrides = Record<string, string | undefined>;

/** A module the app imports besides its own (see {@link AppModule.forRoot}). */
export type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/**
 * The whole server: the environment read into the pipeline's options, the pipeline (every
 * transport), logs, `/health`, `/metrics`, the chat page, and (unless `DEMO_AGENTS=false`) the demo
 * agents; with `LLM_BASE_URL`, the `assistant` agent and its tools.
 */
@Module({})
export class AppModule {
  /**
   * @param env Variables that take precedence over `process.env` (tests start apps with their own).
   * @param extra More modules to import (agents of a test or an embedding app).
   */
  static forRoot(env: EnvironmentOverrides = {}, extra: ModuleImport[] = []): DynamicModule {
    const demoAgents = !/^(false|0|no|off)$/i.test((env.DEMO_AGENTS ?? process.env.DEMO_AGENTS ?? 'true').trim());
    // The assistant agent exists only with a model to talk to; AppConfig validates the other LLM_* settings.
    const llm = (env.LLM_BASE_URL ?? process.env.LLM_BASE_URL ?? '').trim() !== '';
    // MCP_SERVER shapes the module itself (a route or none); AppConfig validates its value.
    const mcp = !/^(false|0|no|off)$/i.test((env.MCP_SERVER ?? process.env.MCP_SERVER ?? 'true').trim());
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(env),
        ServerTracingModule,
        AgentPipelineModule.forRootAsync({
          inject: [AppConfig, ServerTracing],
          useFactory: (config: AppConfig, tracing: ServerTracing) => ({
            auth: config.auth,
            databaseUrl: config.databaseUrl,
            runTimeoutMs: config.runTimeoutMs,
            shutdownGraceMs: config.shutdownGraceMs,
            maxConcurrentRunsPerUser: config.maxConcurrentRunsPerUser,
            rateLimitRunsPerMinute: config.rateLimitRunsPerMinute,
            maxInputBytes: config.maxInputBytes,
            redisUrl: config.redisUrl,
            runLeaseMs: config.runLeaseMs,
            runMaxAttempts: config.runMaxAttempts,
            storeBacklogMaxEvents: config.storeBacklogMaxEvents,
            threadMultitask: config.threadMultitask,
            maxQueuedRunsPerThread: config.maxQueuedRunsPerThread,
            runRetentionDays: config.runRetentionDays,
            queueSweepMs: config.threadQueueSweepMs,
            interruptTimeoutMs: config.interruptTimeoutMs,
            idempotencyTtlMs: config.idempotencyTtlMs,
            corsOrigins: config.corsOrigins,
            maxSocketsPerUser: config.maxSocketsPerUser,
            socketMaxBufferedBytes: config.socketMaxBufferedBytes,
            socketRecoveryMs: config.socketRecoveryMs,
            sseKeepAliveMs: config.sseKeepAliveMs,
            maxTokensPerUserPerDay: config.maxTokensPerUserPerDay,
            tracing: tracing.pipelineOption,
          }),
          mcp,
        }),
        ObservabilityModule,
        WebModule,
        ...(demoAgents ? [DemoAgentsModule] : []),
        ...(llm
          ? [
              // The demo tools first: the assistant lists its tools in the order they were registered.
              DemoToolsModule,
              LlmModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => config.llm! }),
            ]
          : []),
        ...extra,
      ],
      // The contract's error bodies on the server's own routes too (unknown routes included).
      providers: [{ provide: APP_FILTER, useClass: PipelineHttpErrorFilter }],
    };
  }
}
