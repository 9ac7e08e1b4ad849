/**
 * Helpers for DI-level integration tests of agents built on the pipeline
 * (import from `src/pipeline/testing`; needs `@nestjs/testing`).
 */
export { createPipelineTestHarness } from './pipeline-test.harness';
export type { CollectedRun, PipelineTestHarness, PipelineTestHarnessOptions } from './pipeline-test.harness';
export { RecordingEventPublisher } from './recording-event.publisher';
export type { PublishedEvent } from './recording-event.publisher';
