import type { AgentEventEnvelope } from '@agent-pipeline/nestjs';
import { FakeLlmServer, silentReply, textReply, toolCallReply, type ReceivedRequest } from '@agent-pipeline/llm/testing';
import { startServerProcess, stopAllServerProcesses, tempDatabase, type ServerProcess } from './support/server-process';
import { command, ofRun, recordEvents, waitFor, waitForTerminal } from './support/test-app';

/**
 * The assistant is durable: each model call and each tool call is a step. Killed between a tool
 * call and the next model call (the stand-in model server holds that call), it goes on after the
 * restart with the next model call, and neither the first model call nor the tool runs again.
 */
describe('the durable assistant across SIGKILL and a restart (real processes, stand-in model server)', () => {
  const db = tempDatabase();
  let llm: FakeLlmServer;
  beforeAll(async () => {
    llm = await FakeLlmServer.start();
  });
  afterAll(async () => {
    await stopAllServerProcesses();
    await llm.close();
    db.remove();
  });

  it('resumes between a tool call and the next model call, and completes with one tool call and the same conversation', async () => {
    const env = { DATABASE_URL: db.url, LLM_BASE_URL: llm.baseUrl, LLM_API_KEY: 'test-key', LLM_MODEL: 'test-model', LLM_MAX_RETRIES: '0' };
    let held: ReceivedRequest | undefined;
    llm.enqueue(toolCallReply([{ id: 'call_1', name: 'calculate', argumentParts: ['{"expression": "6 * 7"}'] }]), (req, res) => {
      held = req;
      return silentReply()(req, res);
    });
    const first: ServerProcess = await startServerProcess(env);
    const socket = await first.connect('alice');
    const live = recordEvents(socket);
    const ack = await command(socket, 'run:start', { agent: 'assistant', input: { text: 'What is 6 * 7?' } });
    expect(ack.ok).toBe(true);
    await waitFor(() => held !== undefined, 'the second model call');
    await waitFor(
      () => ofRun(live, ack.runId).some((e) => e.type === 'agent_thinking' && (e.data as { step: number }).step === 2),
      'its thinking',
    );
    first.kill('SIGKILL');
    await first.exited;

    llm.enqueue(textReply(['It is ', '42.']));
    const second = await startServerProcess(env);
    const s2 = await second.connect('alice');
    const after = recordEvents(s2);
    await command(s2, 'run:replay', { runId: ack.runId, afterSeq: 0 });
    const terminal = await waitForTerminal(after, ack.runId, 20_000);
    expect(terminal).toMatchObject({ type: 'agent_completed', data: { result: 'It is 42.' } });

    // Three model calls in all: the first (tool call), the one held at the kill, and the resumed one.
    expect(llm.requests).toHaveLength(3);
    expect(llm.requests[2].body.messages).toEqual(held!.body.messages);
    const res = await fetch(`${second.url}/runs/${ack.runId}/events`, { headers: { authorization: `Bearer ${second.token('alice')}` } });
    const stored = ((await res.json()) as { events: AgentEventEnvelope[] }).events;
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    const types = stored.map((e) => e.type);
    expect(types.filter((t) => t === 'tool_executing')).toHaveLength(1);
    expect(types.slice(0, 6)).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_thinking',
      'agent_resumed',
    ]);
    // The model call in flight at the kill is made again, announced by its thinking again.
    expect(types.slice(6)).toEqual(['agent_thinking', ...types.slice(7, -1).map(() => 'agent_message_delta'), 'agent_completed']);
    expect(stored[3].data).toMatchObject({ toolCallId: 'call_1', result: 42 });
    for (const e of ofRun(live, ack.runId)) expect(stored[e.seq - 1]).toEqual(e);
  }, 90_000);
});
