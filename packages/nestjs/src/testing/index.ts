/**
 * `@agent-pipeline/nestjs/testing`: DI-level integration tests of agents built on the pipeline —
 * the real pipeline (store, per-run DI, limits) with a recorder in place of Socket.IO. Needs
 * `@nestjs/testing` (an optional peer).
 */
export { createPipelineTestHarness } from './pipeline-test.harness';
export type { CollectedRun, PipelineTestHarness, PipelineTestHarnessOptions } from './pipeline-test.harness';
export { RecordingEventPublisher } from './recording-event.publisher';
export type { PublishedEvent } from './recording-event.publisher';
/** A real run store (`sqlite::memory:`, a file, or PostgreSQL) for tests of code that reads one. */
export { openRunStore } from '../store/run-store.factory';
