/**
 * `@agent-pipeline/llm`: the `assistant` agent over any OpenAI-compatible API, the `@Tool()`
 * decorator that gives it tools, and its settings. Import `LlmModule.forRoot(...)` next to
 * `AgentPipelineModule`. Nothing inside the package imports this file.
 */
export { LlmModule } from './llm.module';
export type { LlmModuleOptions, LlmSettings } from './llm.options';
export { AssistantAgent, AssistantInput, ASSISTANT_AGENT_NAME } from './assistant.agent';
export type { AssistantCompletionExtra } from './assistant.agent';
export type { TokenUsage } from './chat-stream.accumulator';
export { LlmProviderError } from './llm-provider.error';
export { Tool } from './tools/tool.decorator';
export type { ToolContext, ToolHandler, ToolOptions } from './tools/tool.interface';
export { ToolRegistry } from './tools/tool.registry';
export { ToolCatalog } from './tools/tool.catalog';
export type { OfferedTool } from './tools/tool.catalog';
export type { McpHttpServerOptions, McpServerOptions, McpStdioServerOptions } from './mcp/mcp-server.config';
export { McpHealthIndicator } from './mcp/mcp.health';
export { MCP_METRIC_NAMES } from './mcp/mcp.metrics';
export { MCP_TOOL_PREFIX } from './mcp/mcp-tool.names';
export type { RegisteredTool } from './tools/tool.registry';
