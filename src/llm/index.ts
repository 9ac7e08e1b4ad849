/**
 * The public API of the LLM agent: import from here to add tools or reuse its pieces. Nothing
 * inside `src/llm` imports this file.
 */
export { LlmModule } from './llm.module';
export { AssistantAgent, AssistantInput, ASSISTANT_AGENT_NAME } from './assistant.agent';
export type { AssistantCompletionExtra } from './assistant.agent';
export type { TokenUsage } from './chat-stream.accumulator';
export { LLM_SETTINGS } from './llm.config';
export type { LlmSettings } from './llm.config';
export { LlmProviderError } from './llm-provider.error';
export { Tool } from './tools/tool.decorator';
export type { ToolContext, ToolHandler, ToolOptions } from './tools/tool.interface';
export type { JsonSchema } from '../pipeline';
export { ToolRegistry } from './tools/tool.registry';
export type { RegisteredTool } from './tools/tool.registry';
