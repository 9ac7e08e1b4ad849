/** What an agent knows about one model call before it is made. */
export interface ModelCallInfo {
  /** The model asked for (`gen_ai.request.model`), e.g. `gpt-4o-mini`. */
  model: string;
  /** Who serves it (`gen_ai.provider.name`), e.g. `openai`. */
  provider: string;
}

/** What the provider answered, as far as tracing and usage care. */
export interface ModelCallResult {
  /** The model that answered (`gen_ai.response.model`), when the provider says. */
  responseModel?: string;
  /** Tokens of the prompt, as the provider reported them (0 when it did not). */
  inputTokens?: number;
  /** Tokens of the answer, as the provider reported them. */
  outputTokens?: number;
  /** `stop`, `tool_calls`, `length`, … (`gen_ai.response.finish_reasons`). */
  finishReasons?: string[];
}

/** One tool call, as the agent knows it. */
export interface ToolCallInfo {
  tool: string;
  /** The call's id (the `toolCallId` of its events). */
  toolCallId: string;
}

/**
 * Model calls and tool calls of a run, seen by the pipeline: each is a span of the run's trace
 * when tracing is on (`chat <model>`, `execute_tool <tool>`), and each model call's tokens are
 * added to the run's `usage`, the user's daily usage (`GET /usage`, the budget) and the token
 * metric. With tracing off, only the counting happens.
 */
export interface RunTelemetry {
  /**
   * Runs `call` as one model call. `call` reports what the provider answered through `done`
   * (once; its tokens count even when `call` throws afterwards); a throw marks the span failed.
   *
   * @example
   * const turn = await telemetry.modelCall({ model, provider: 'openai' }, async (done) => {
   *   const answer = await client.chat(...);
   *   done({ inputTokens: answer.usage.prompt_tokens, outputTokens: answer.usage.completion_tokens });
   *   return answer;
   * });
   */
  modelCall<T>(info: ModelCallInfo, call: (done: (result: ModelCallResult) => Promise<void>) => Promise<T>): Promise<T>;
  /**
   * Runs `call` as one tool call. `failed` marks the span failed without a throw (tools that
   * return their error, as the assistant's do).
   */
  toolCall<T>(info: ToolCallInfo, call: (failed: (error: string) => void) => Promise<T>): Promise<T>;
}
