/**
 * Attribute names of the OpenTelemetry GenAI semantic conventions (and the pipeline's own), spelt
 * once. Kept here rather than imported from `@opentelemetry/semantic-conventions`: the GenAI names
 * are still "incubating" there, outside its stable entry point.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  errorType: 'error.type',
  userId: 'user.id',
} as const;

/** The pipeline's own attributes of a run span. */
export const PIPELINE_ATTRIBUTES = {
  runId: 'agent_pipeline.run_id',
  threadId: 'agent_pipeline.thread_id',
  outcome: 'agent_pipeline.outcome',
  cancelReason: 'agent_pipeline.cancel_reason',
  interruptId: 'agent_pipeline.interrupt.id',
  interruptKind: 'agent_pipeline.interrupt.kind',
  interruptResolution: 'agent_pipeline.interrupt.resolution',
  resumeAttempt: 'agent_pipeline.resume.attempt',
  resumeAfterSeq: 'agent_pipeline.resume.after_seq',
  resumeReason: 'agent_pipeline.resume.reason',
} as const;
