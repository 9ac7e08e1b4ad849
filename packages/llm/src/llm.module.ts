import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AssistantAgent } from './assistant.agent';
import { LlmClient } from './llm.client';
import { LLM_MODULE_OPTIONS, LLM_SETTINGS, LlmConfigurableModule, resolveLlmSettings, type LlmModuleOptions } from './llm.options';
import { ThreadMemory } from './thread-memory.service';
import { CurrentTimeTool } from './tools/current-time.tool';
import { ToolCallRunner } from './tools/tool-call.runner';
import { ToolRegistry } from './tools/tool.registry';

/**
 * The `assistant` agent over an OpenAI-compatible API, with its tools (`current_time` and every
 * `@Tool()` provider of the app) and thread memory. Needs `AgentPipelineModule` in the same app.
 *
 * ```ts
 * LlmModule.forRoot({ baseUrl: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY, model: 'gpt-4o-mini' })
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: LLM_SETTINGS, inject: [LLM_MODULE_OPTIONS], useFactory: (options: LlmModuleOptions) => resolveLlmSettings(options) },
    LlmClient,
    ThreadMemory,
    ToolRegistry,
    ToolCallRunner,
    AssistantAgent,
    CurrentTimeTool,
  ],
  exports: [ToolRegistry],
})
export class LlmModule extends LlmConfigurableModule {}
