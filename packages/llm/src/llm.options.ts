import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { McpConnectionTimings } from './mcp/mcp-server.connection';
import { resolveMcpServers, type McpServerOptions, type McpServerSettings } from './mcp/mcp-server.config';

/** Options of {@link LlmModule}: the model server the `assistant` agent talks to, and how. */
export interface LlmModuleOptions {
  /** OpenAI-compatible API base URL, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`. */
  baseUrl: string;
  /** Bearer token; leave it out for servers that need none. */
  apiKey?: string;
  /** The model name the server knows, e.g. `gpt-4o-mini`. */
  model: string;
  /**
   * Who serves the model, as traces name it (`gen_ai.provider.name`: `openai`, `azure.ai.openai`,
   * `ollama`, …). @default 'openai' (the API the assistant speaks)
   */
  provider?: string;
  /** System message before every conversation. @default none */
  systemPrompt?: string;
  /** Model calls per run (each tool round trip is one). @default 8 */
  maxSteps?: number;
  /** Longest silence of the provider before the call fails, in ms. @default 60000 */
  timeoutMs?: number;
  /** Retries of a failed call (429, 5xx, network), with backoff. @default 2 */
  maxRetries?: number;
  /** Earlier messages of the thread sent with each call. @default 20 */
  historyMessages?: number;
  /** Message deltas per second a run emits at most (text is batched, never dropped). @default 20 */
  maxDeltaEventsPerSecond?: number;
  /**
   * Tools that ask the user before each call, besides those declared with `needsApproval`: tool
   * names, including `mcp__<server>__<tool>`, and `mcp__<server>__*` for every tool of a server.
   * @default []
   */
  approvalTools?: readonly string[];
  /** MCP servers whose tools the assistant may call (`LLM_MCP_SERVERS`), offered as `mcp__<name>__<tool>`. @default [] */
  mcpServers?: readonly McpServerOptions[];
  /** Longest wait for one MCP tool call, in ms; then the call fails with a tool error. @default 60000 */
  mcpCallTimeoutMs?: number;
  /** Longest wait for an MCP server to connect and list its tools, in ms; then it is retried later. @default 10000 */
  mcpConnectTimeoutMs?: number;
  /** How often a connected Streamable HTTP MCP server is pinged, to see that it went away between calls, in ms. @default 15000 */
  mcpPingIntervalMs?: number;
}

/** {@link LlmModuleOptions} with every default applied, as the agent reads them. */
export interface LlmSettings {
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly model: string;
  readonly provider: string;
  readonly systemPrompt?: string;
  readonly maxSteps: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly historyMessages: number;
  readonly maxDeltaEventsPerSecond: number;
  readonly approvalTools: readonly string[];
  readonly mcpServers: readonly McpServerSettings[];
  readonly mcpCallTimeoutMs: number;
  readonly mcpTimings: McpConnectionTimings;
}

/** Injection token of the resolved {@link LlmSettings}. */
export const LLM_SETTINGS = Symbol('LLM_SETTINGS');

/** Applies the defaults, and refuses options the agent could not work with, naming the option. */
export function resolveLlmSettings(options: LlmModuleOptions): LlmSettings {
  if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) {
    throw new Error(`LlmModule: 'baseUrl' must be an http(s) URL of an OpenAI-compatible API (got ${JSON.stringify(options?.baseUrl)}).`);
  }
  if (typeof options.model !== 'string' || options.model.trim() === '') {
    throw new Error("LlmModule: 'model' is required (the model name the server knows, e.g. 'gpt-4o-mini').");
  }
  const settings: LlmSettings = {
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    model: options.model,
    provider: options.provider?.trim() || 'openai',
    systemPrompt: options.systemPrompt,
    maxSteps: options.maxSteps ?? 8,
    timeoutMs: options.timeoutMs ?? 60_000,
    maxRetries: options.maxRetries ?? 2,
    historyMessages: options.historyMessages ?? 20,
    maxDeltaEventsPerSecond: options.maxDeltaEventsPerSecond ?? 20,
    approvalTools: options.approvalTools ?? [],
    mcpServers: resolveMcpServers(options.mcpServers),
    mcpCallTimeoutMs: options.mcpCallTimeoutMs ?? 60_000,
    mcpTimings: {
      connectTimeoutMs: options.mcpConnectTimeoutMs ?? 10_000,
      reconnectInitialMs: 500,
      reconnectMaxMs: 30_000,
      pingIntervalMs: options.mcpPingIntervalMs ?? 15_000,
    },
  };
  for (const key of ['maxSteps', 'timeoutMs', 'maxDeltaEventsPerSecond', 'mcpCallTimeoutMs'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new Error(`LlmModule: '${key}' must be a positive integer.`);
  }
  for (const [key, value] of [
    ['mcpConnectTimeoutMs', settings.mcpTimings.connectTimeoutMs],
    ['mcpPingIntervalMs', settings.mcpTimings.pingIntervalMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`LlmModule: '${key}' must be a positive integer.`);
  }
  for (const key of ['maxRetries', 'historyMessages'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 0) throw new Error(`LlmModule: '${key}' must be an integer ≥ 0.`);
  }
  return settings;
}

export const {
  ConfigurableModuleClass: LlmConfigurableModule,
  MODULE_OPTIONS_TOKEN: LLM_MODULE_OPTIONS,
  OPTIONS_TYPE: LLM_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LLM_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LlmModuleOptions>().setClassMethodName('forRoot').build();
