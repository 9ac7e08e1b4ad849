import { AgentPipelineModule, AgentService, PIPELINE_DEFAULTS, type AgentPipelineOptions } from '@agent-pipeline/nestjs';
import { createPipelineTestHarness } from '@agent-pipeline/nestjs/testing';
import { AgentPipelineClient, ERROR_CODES, type AnyAgentEvent } from '@agent-pipeline/client';

/**
 * Compiled, never run: the packages' types reach the app as types, not `any`. Each
 * `@ts-expect-error` fails the compile ("unused directive") if the line below it type-checks.
 */
export const options: AgentPipelineOptions = { auth: { development: true }, databaseUrl: PIPELINE_DEFAULTS.databaseUrl };

// @ts-expect-error databaseUrl is a string
AgentPipelineModule.forRoot({ auth: { development: true }, databaseUrl: 1 });

// @ts-expect-error auth is required
AgentPipelineModule.forRoot({ databaseUrl: 'sqlite::memory:' });

export async function startsTakeAUser(agents: AgentService): Promise<string> {
  // @ts-expect-error start(userId, request): the user comes first
  await agents.start({ agent: 'greeter' });
  return (await agents.start('alice', { agent: 'greeter', input: { name: 'Ada' } })).runId;
}

export async function harnessIsTyped(): Promise<void> {
  const harness = await createPipelineTestHarness({ providers: [] });
  // @ts-expect-error runAndCollect resolves a CollectedRun, not a string
  const wrong: string = await harness.runAndCollect('greeter');
  void wrong;
  await harness.close();
}

export async function clientIsTyped(client: AgentPipelineClient): Promise<AnyAgentEvent[]> {
  const events: AnyAgentEvent[] = [];
  // @ts-expect-error run(agent: string, ...)
  client.run(42);
  for await (const event of client.run('greeter', { name: 'Ada' })) events.push(event);
  const code: (typeof ERROR_CODES)[number] = 'UNKNOWN_AGENT';
  // @ts-expect-error not an error code
  const notACode: (typeof ERROR_CODES)[number] = 'NOT_A_CODE';
  void code;
  void notACode;
  return events;
}
