import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AssistantAgent } from './assistant.agent';
import { LlmClient } from './llm.client';
import { llmSettingsProvider } from './llm.config';
import { ThreadMemory } from './thread-memory.service';
import { CalculateTool } from './tools/calculate.tool';
import { CurrentTimeTool } from './tools/current-time.tool';
import { ToolCallRunner } from './tools/tool-call.runner';
import { ToolRegistry } from './tools/tool.registry';

/**
 * The `assistant` agent over an OpenAI-compatible API, with its tools (`calculate`,
 * `current_time`, and every `@Tool()` provider of the app) and thread memory. Needs the global
 * `AgentPipelineModule` and `AppConfigModule` with `LLM_BASE_URL` set; the app imports it only then.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    llmSettingsProvider,
    LlmClient,
    ThreadMemory,
    ToolRegistry,
    ToolCallRunner,
    AssistantAgent,
    CalculateTool,
    CurrentTimeTool,
  ],
  exports: [ToolRegistry],
})
export class LlmModule {}
