import { DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule } from './config/app-config.module';
import { AppConfig } from './config/app.config';
import { DemoAgentsModule } from './demo-agents/demo-agents.module';
import { LlmModule } from './llm/llm.module';
import { ObservabilityModule } from './observability/observability.module';
import { AgentPipelineModule } from './pipeline';
import { AgUiTransportModule } from './transport/ag-ui/ag-ui-transport.module';
import { AiSdkTransportModule } from './transport/ai-sdk/ai-sdk-transport.module';
import { HttpTransportModule } from './transport/http/http-transport.module';
import { SocketTransportModule } from './transport/socket/socket-transport.module';
import { WebModule } from './web/web.module';

/** Settings that exist only as environment variables; see the README's Configuration table. */
export type EnvironmentOverrides = Record<string, string | undefined>;

/** The whole server: configuration, pipeline, transports and (unless `DEMO_AGENTS=false`) the demo agents. */
@Module({})
export class AppModule {
  /**
   * @param env Variables that take precedence over `process.env` (tests start apps with their own).
   */
  static forRoot(env: EnvironmentOverrides = {}): DynamicModule {
    const demoAgents = !/^(false|0|no|off)$/i.test((env.DEMO_AGENTS ?? process.env.DEMO_AGENTS ?? 'true').trim());
    // The assistant agent exists only with a model to talk to; AppConfig validates the other LLM_* settings.
    const llm = (env.LLM_BASE_URL ?? process.env.LLM_BASE_URL ?? '').trim() !== '';
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(env),
        AgentPipelineModule.forRootAsync({
          isGlobal: true,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            databaseUrl: config.databaseUrl,
            runTimeoutMs: config.runTimeoutMs,
            shutdownGraceMs: config.shutdownGraceMs,
            maxConcurrentRunsPerUser: config.maxConcurrentRunsPerUser,
            rateLimitRunsPerMinute: config.rateLimitRunsPerMinute,
            maxInputBytes: config.maxInputBytes,
            redisUrl: config.redisUrl,
            runLeaseMs: config.runLeaseMs,
            storeBacklogMaxEvents: config.storeBacklogMaxEvents,
            threadMultitask: config.threadMultitask,
            maxQueuedRunsPerThread: config.maxQueuedRunsPerThread,
            runRetentionDays: config.runRetentionDays,
            queueSweepMs: config.threadQueueSweepMs,
            interruptTimeoutMs: config.interruptTimeoutMs,
          }),
        }),
        ObservabilityModule,
        SocketTransportModule,
        HttpTransportModule,
        AgUiTransportModule,
        AiSdkTransportModule,
        WebModule,
        ...(demoAgents ? [DemoAgentsModule] : []),
        ...(llm ? [LlmModule] : []),
      ],
    };
  }
}
