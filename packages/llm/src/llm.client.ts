import { Inject, Injectable, Logger } from '@nestjs/common';
import OpenAI from 'openai';
import { abortableSleep, throwIfAborted, type RunTelemetry } from '@agent-pipeline/nestjs';
import { ChatStreamAccumulator, type AssistantTurn } from './chat-stream.accumulator';
import { LLM_SETTINGS, type LlmSettings } from './llm.options';
import {
  backoffMs,
  describeProviderError,
  isRetryable,
  LlmStreamIncompleteError,
  LlmTimeoutError,
  retryAfterMs,
} from './llm-provider.error';

/** One model step to stream. */
export interface ChatRequest {
  messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[];
  /** Omitted from the request when empty: some servers refuse `tools: []`. */
  tools: OpenAI.Chat.Completions.ChatCompletionFunctionTool[];
}

/** How to follow a streamed step. */
export interface ChatStreamOptions {
  /** The run's signal: aborting it aborts the HTTP request at once. */
  signal: AbortSignal;
  /** Called with each piece of message text as it arrives. */
  onText(text: string): void;
  /** The run's telemetry: the call becomes its `chat <model>` span and its tokens count toward the run. */
  telemetry?: RunTelemetry;
}

/**
 * Streams Chat Completions from an OpenAI-compatible API with the official SDK. Adds what the SDK
 * leaves to the caller: a silence timeout that also covers the streamed body (the SDK's only
 * covers the wait for headers), retries whose backoff a cancel interrupts, detection of streams
 * that stop short, and errors that say what to fix without quoting the API key.
 */
@Injectable()
export class LlmClient {
  private readonly logger = new Logger(LlmClient.name);
  private readonly openai: OpenAI;

  constructor(@Inject(LLM_SETTINGS) private readonly settings: LlmSettings) {
    const log =
      (level: 'error' | 'warn') =>
      (message: string, ...rest: unknown[]) =>
        this.logger[level](this.redact([message, ...rest.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))].join(' ')));
    this.openai = new OpenAI({
      baseURL: settings.baseUrl,
      // The SDK insists on a key; servers that need none ignore the header.
      apiKey: settings.apiKey ?? 'no-key',
      // Explicit nulls: the SDK would otherwise pick up OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment.
      organization: null,
      project: null,
      // Retried here instead, so that a cancel can interrupt the backoff.
      maxRetries: 0,
      timeout: settings.timeoutMs,
      logLevel: 'warn',
      logger: { error: log('error'), warn: log('warn'), info: () => undefined, debug: () => undefined },
    });
  }

  /** The model the client asks. */
  get model(): string {
    return this.settings.model;
  }

  /** Who serves the model (`gen_ai.provider.name`). */
  get provider(): string {
    return this.settings.provider;
  }

  /**
   * Streams one assistant message. Refusals worth retrying (429, 5xx, 408, 409, connection errors)
   * are retried up to `LLM_MAX_RETRIES` times, as long as nothing of the answer has arrived yet.
   *
   * @throws LlmProviderError when the provider fails; an `AbortError` when `signal` aborts.
   */
  async stream(request: ChatRequest, options: ChatStreamOptions): Promise<AssistantTurn> {
    const { telemetry } = options;
    if (!telemetry) return this.streamWithRetries(request, options);
    // One model call, retries included: its span covers them, and the answer's tokens count once.
    return telemetry.modelCall({ model: this.model, provider: this.provider }, async (done) => {
      const turn = await this.streamWithRetries(request, options);
      await done({
        responseModel: turn.model,
        inputTokens: turn.usage?.inputTokens,
        outputTokens: turn.usage?.outputTokens,
        finishReasons: turn.finishReason ? [turn.finishReason] : [],
      });
      return turn;
    });
  }

  private async streamWithRetries(request: ChatRequest, options: ChatStreamOptions): Promise<AssistantTurn> {
    for (let attempt = 1; ; attempt++) {
      const progress = { started: false };
      try {
        return await this.attempt(request, options, progress);
      } catch (err) {
        throwIfAborted(options.signal);
        if (progress.started || attempt > this.settings.maxRetries || !isRetryable(err)) {
          throw describeProviderError(err, { ...this.settings, attempts: attempt });
        }
        const wait = backoffMs(attempt - 1, retryAfterMs(err));
        this.logger.warn(
          `Model call failed (${describeProviderError(err, { ...this.settings, attempts: attempt }).message}); ` +
            `retry ${attempt} of ${this.settings.maxRetries} in ${Math.round(wait)} ms.`,
        );
        await abortableSleep(wait, options.signal);
      }
    }
  }

  private async attempt(request: ChatRequest, options: ChatStreamOptions, progress: { started: boolean }): Promise<AssistantTurn> {
    const { signal } = options;
    // One controller per attempt, aborted by the run's signal or by the silence timer.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const rearm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.settings.timeoutMs);
    };
    rearm();
    try {
      throwIfAborted(signal);
      const stream = await this.openai.chat.completions.create(
        {
          model: this.settings.model,
          messages: request.messages,
          ...(request.tools.length > 0 ? { tools: request.tools } : {}),
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
      const turn = new ChatStreamAccumulator();
      // On abort the SDK's iterator ends quietly instead of throwing: the checks after the loop tell why it ended.
      for await (const chunk of stream) {
        rearm();
        progress.started = true;
        const text = turn.push(chunk);
        if (text) options.onText(text);
      }
      throwIfAborted(signal);
      if (timedOut) throw new LlmTimeoutError();
      if (!turn.finished) throw new LlmStreamIncompleteError();
      return turn.result();
    } catch (err) {
      if (timedOut && !signal.aborted) throw new LlmTimeoutError();
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  private redact(text: string): string {
    return this.settings.apiKey ? text.split(this.settings.apiKey).join('[redacted]') : text;
  }
}
