import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AssistantAgent } from './assistant.agent';
import { LlmClient } from './llm.client';
import { LLM_MODULE_OPTIONS, LLM_SETTINGS, LlmConfigurableModule, resolveLlmSettings, type LlmModuleOptions } from './llm.options';
import { McpHealthIndicator } from './mcp/mcp.health';
import { McpMetrics } from './mcp/mcp.metrics';
import { McpToolSource } from './mcp/mcp-tool.source';
import { ThreadMemory } from './thread-memory.service';
import { CurrentTimeTool } from './tools/current-time.tool';
import { ToolCallRunner } from './tools/tool-call.runner';
import { ToolCatalog } from './tools/tool.catalog';
import { ToolRegistry } from './tools/tool.registry';

/**
 * The `assistant` agent over an OpenAI-compatible API, with its tools (`current_time`, every
 * `@Tool()` provider of the app and the tools of the `mcpServers`) and thread memory. Needs `AgentPipelineModule` in the same app.
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
    McpMetrics,
    McpToolSource,
    McpHealthIndicator,
    ToolCatalog,
    ToolCallRunner,
    AssistantAgent,
    CurrentTimeTool,
  ],
  exports: [ToolRegistry, McpHealthIndicator],
})
export class LlmModule extends LlmConfigurableModule {}
