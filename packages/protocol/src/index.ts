/**
 * `@agent-pipeline/protocol`: the agent pipeline's wire contract in TypeScript — the event
 * envelope and every event type with its data, the Socket.IO commands and their acks, error codes
 * with their HTTP statuses, run statuses and multitask policies. Shared by the server, the typed
 * client and any other client; it imports nothing, so it runs in browsers as it does in Node.
 *
 * The contract itself is `DESIGN.md` ("Socket.IO protocol", "HTTP API").
 */
export * from './agent-event.types';
export * from './error-codes';
export * from './socket-protocol.types';
export type { ThreadInfo } from './thread-info.types';
export type { JsonSchemaObject } from './json-schema.types';
export type { UsageBudget, UsageDay, UsageReport } from './usage.types';
