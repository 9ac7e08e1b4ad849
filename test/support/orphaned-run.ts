import type { INestApplicationContext } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { RUN_STORE, type AgentEventEnvelope, type RunStore } from '@agent-pipeline/nestjs';
import { DurableRunResumer } from '../../packages/nestjs/src/durable/durable-run.resumer';

/** What a node that died left in the store for one durable run. */
export interface OrphanedRun {
  userId: string;
  agent: string;
  input: unknown;
  /** Its stored events after `agent_started` (seq 2 on), as `[type, data]`. */
  events?: [AgentEventEnvelope['type'], unknown][];
  /** Its recorded steps: name, the seq once it had ended, and its JSON result. */
  steps?: { name: string; seq: number; thinkingStep?: number; result?: unknown }[];
}

/**
 * Stores a durable run as a node leaves it when it dies mid-run (status `running`, its lease run
 * out, `agent_started` and `events` stored), then lets the app's resumer take it over, as its
 * lease sweep does: for specs that need a resumed run in an app of their own process (a
 * `kill -9` of the process itself is in the process specs). Resolves the run's ids.
 */
export async function resumeOrphanedRun(app: INestApplicationContext, run: OrphanedRun): Promise<{ runId: string; threadId: string }> {
  const store = app.get<RunStore>(RUN_STORE);
  const runId = uuidv7();
  const threadId = uuidv7();
  const createdAt = new Date(Date.now() - 1000);
  const envelope = (seq: number, type: AgentEventEnvelope['type'], data: unknown) =>
    ({ runId, threadId, seq, type, agent: run.agent, ts: new Date(createdAt.getTime() + seq).toISOString(), data }) as AgentEventEnvelope;
  await store.write({
    runs: [
      {
        runId,
        threadId,
        userId: run.userId,
        agent: run.agent,
        input: run.input,
        createdAt,
        nodeId: 'a-node-that-died',
        leaseUntil: new Date(createdAt.getTime() + 1),
        durable: true,
      },
    ],
    events: [
      envelope(1, 'agent_started', { input: run.input }),
      ...(run.events ?? []).map(([type, data], i) => envelope(i + 2, type, data)),
    ],
    steps: (run.steps ?? []).map((step) => ({
      runId,
      name: step.name,
      seq: step.seq,
      thinkingStep: step.thinkingStep ?? 0,
      ...(step.result === undefined ? {} : { result: JSON.stringify(step.result) }),
    })),
  });
  await app.get(DurableRunResumer, { strict: false }).resumeAll({ kind: 'run', runId });
  return { runId, threadId };
}
