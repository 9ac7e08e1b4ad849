import { Test } from '@nestjs/testing';
import { type AgentNotifier, type AgentRunContext, type InterruptFn, type InterruptRequest, type StepFn } from '@agent-pipeline/nestjs';
import { validatePayload } from '../../packages/nestjs/src/validation/validate-payload';
import { ApprovalAgent, ApprovalInput } from './approval.agent';
import { CalculatorAgent, CalculatorInput } from './calculator.agent';
import { CountdownAgent, CountdownInput } from './countdown.agent';
import { DemoAgentsModule } from './demo-agents.module';
import { EchoAgent, EchoInput } from './echo.agent';
import { DEFAULT_FAILURE_MESSAGE, FailingAgent, FailingInput } from './failing.agent';

type NotifierCall =
  | { method: 'thinking'; thought: string }
  | { method: 'toolExecuting'; tool: string; args: unknown; toolCallId: string }
  | { method: 'toolCompleted'; toolCallId: string; tool: string; outcome: { result?: unknown; error?: string }; durationMs: number }
  | { method: 'messageDelta'; delta: string; messageId: string };

/** Collects what an agent reports, in order. */
class RecordingNotifier implements AgentNotifier {
  readonly calls: NotifierCall[] = [];

  thinking(thought: string): void {
    this.calls.push({ method: 'thinking', thought });
  }

  toolExecuting(tool: string, args: unknown, toolCallId = `call-${this.calls.length + 1}`): string {
    this.calls.push({ method: 'toolExecuting', tool, args, toolCallId });
    return toolCallId;
  }

  toolCompleted(toolCallId: string, tool: string, outcome: { result?: unknown; error?: string }, durationMs: number): void {
    this.calls.push({ method: 'toolCompleted', toolCallId, tool, outcome, durationMs });
  }

  messageDelta(delta: string, messageId = `message-${this.calls.length + 1}`): string {
    this.calls.push({ method: 'messageDelta', delta, messageId });
    return messageId;
  }

  get thoughts(): string[] {
    return this.calls.flatMap((call) => (call.method === 'thinking' ? [call.thought] : []));
  }
}

function runContext<T>(
  input: T,
  signal: AbortSignal = new AbortController().signal,
  interrupt: InterruptFn = () => Promise.reject(new Error('this agent asks nothing')),
) {
  const notifier = new RecordingNotifier();
  // Steps of a run that is not durable: each runs once, nothing recorded.
  const step: StepFn = async (_name, fn) => fn();
  const telemetry: AgentRunContext['telemetry'] = {
    modelCall: (_info, call) => call(async () => undefined),
    toolCall: (_info, call) => call(() => undefined),
  };
  const context: AgentRunContext<T> = {
    input,
    signal,
    userId: 'user-1',
    runId: 'run-1',
    threadId: 'thread-1',
    notifier,
    interrupt,
    step,
    telemetry,
  };
  return { context, notifier };
}

describe('demo agents', () => {
  describe('DemoAgentsModule', () => {
    it('provides the five agents', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [DemoAgentsModule] }).compile();
      for (const agent of [EchoAgent, CalculatorAgent, CountdownAgent, FailingAgent, ApprovalAgent]) {
        expect(moduleRef.get(agent)).toBeInstanceOf(agent);
      }
      await moduleRef.close();
    });
  });

  describe('echo', () => {
    const sut = new EchoAgent();

    it('thinks once, sends the whole text as one delta and returns it', async () => {
      const { context, notifier } = runContext({ text: 'Hello, world' });
      await expect(sut.run(context)).resolves.toBe('Hello, world');
      expect(notifier.calls).toEqual([
        { method: 'thinking', thought: 'Echoing the text back' },
        { method: 'messageDelta', delta: 'Hello, world', messageId: 'message-2' },
      ]);
    });

    it('echoes an empty text', async () => {
      const { context, notifier } = runContext({ text: '' });
      await expect(sut.run(context)).resolves.toBe('');
      expect(notifier.calls[1]).toMatchObject({ method: 'messageDelta', delta: '' });
    });

    it('requires a string text', () => {
      expect(validatePayload(EchoInput, { text: '' }, 'input')).toEqual({ text: '' });
      expect(() => validatePayload(EchoInput, {}, 'input')).toThrow('text must be a string');
      expect(() => validatePayload(EchoInput, { text: 5 }, 'input')).toThrow('text must be a string');
    });
  });

  describe('calculator', () => {
    const sut = new CalculatorAgent();

    it('thinks, runs the calculate tool and returns the number', async () => {
      const { context, notifier } = runContext({ expression: '-(2 + 3) × 2' });
      await expect(sut.run(context)).resolves.toBe(-10);
      expect(notifier.calls).toEqual([
        { method: 'thinking', thought: expect.any(String) },
        { method: 'toolExecuting', tool: 'calculate', args: { expression: '-(2 + 3) × 2' }, toolCallId: 'call-2' },
        { method: 'toolCompleted', toolCallId: 'call-2', tool: 'calculate', outcome: { result: -10 }, durationMs: expect.any(Number) },
      ]);
      const completed = notifier.calls[2] as { durationMs: number };
      expect(completed.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('ends the tool call with the error, then fails the run explaining why', async () => {
      const { context, notifier } = runContext({ expression: '1 + )' });
      await expect(sut.run(context)).rejects.toThrow(/^The expression could not be calculated: Unexpected '\)' at position 4\.$/);
      expect(notifier.calls.map((call) => call.method)).toEqual(['thinking', 'toolExecuting', 'toolCompleted']);
      expect(notifier.calls[2]).toEqual({
        method: 'toolCompleted',
        toolCallId: 'call-2',
        tool: 'calculate',
        outcome: { error: "Unexpected ')' at position 4" },
        durationMs: expect.any(Number),
      });
    });

    it('fails on division by zero', async () => {
      const { context, notifier } = runContext({ expression: '1 / 0' });
      await expect(sut.run(context)).rejects.toThrow('Division by zero at position 2');
      expect(notifier.calls[2]).toMatchObject({ outcome: { error: 'Division by zero at position 2' } });
    });

    it('accepts expressions up to 1000 characters', () => {
      expect(() => validatePayload(CalculatorInput, { expression: '1'.repeat(1000) }, 'input')).not.toThrow();
      expect(() => validatePayload(CalculatorInput, { expression: '1'.repeat(1001) }, 'input')).toThrow(
        'expression must be shorter than or equal to 1000 characters',
      );
      expect(() => validatePayload(CalculatorInput, {}, 'input')).toThrow(/expression .*must be a string/);
    });
  });

  describe('countdown', () => {
    const sut = new CountdownAgent();

    it('thinks once per step and returns the number of steps', async () => {
      const { context, notifier } = runContext({ steps: 3, intervalMs: 5 });
      await expect(sut.run(context)).resolves.toBe(3);
      expect(notifier.calls).toEqual([
        { method: 'thinking', thought: 'Step 1 of 3' },
        { method: 'thinking', thought: 'Step 2 of 3' },
        { method: 'thinking', thought: 'Step 3 of 3' },
      ]);
    });

    it('waits the interval before each step', async () => {
      const { context } = runContext({ steps: 2, intervalMs: 50 });
      const started = Date.now();
      await sut.run(context);
      expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    });

    it('stops within 100 ms of an abort while waiting', async () => {
      const controller = new AbortController();
      const { context, notifier } = runContext({ steps: 5, intervalMs: 60_000 }, controller.signal);
      const run = sut.run(context);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const aborted = Date.now();
      controller.abort('Cancelled by the user.');
      await expect(run).rejects.toThrow('Aborted: Cancelled by the user.');
      expect(Date.now() - aborted).toBeLessThan(150);
      expect(notifier.calls).toEqual([]);
    });

    it('lets an abort in between zero-length steps', async () => {
      const controller = new AbortController();
      const { context, notifier } = runContext({ steps: 10_000, intervalMs: 0 }, controller.signal);
      const run = sut.run(context);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const aborted = Date.now();
      controller.abort('Cancelled by the user.');
      const emitted = notifier.calls.length;
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - aborted).toBeLessThan(150);
      expect(emitted).toBeGreaterThan(0);
      expect(emitted).toBeLessThan(10_000);
      expect(notifier.calls).toHaveLength(emitted);
    });

    it('does not start when the signal has already aborted', async () => {
      const controller = new AbortController();
      controller.abort('Shutting down.');
      const { context, notifier } = runContext({ steps: 3, intervalMs: 0 }, controller.signal);
      await expect(sut.run(context)).rejects.toThrow('Aborted: Shutting down.');
      expect(notifier.calls).toEqual([]);
    });

    it('requires integer steps 1..10000 and intervalMs 0..60000', () => {
      const valid = (input: object) => () => validatePayload(CountdownInput, input, 'input');
      expect(valid({ steps: 1, intervalMs: 0 })).not.toThrow();
      expect(valid({ steps: 10_000, intervalMs: 60_000 })).not.toThrow();
      expect(valid({ steps: 0, intervalMs: 0 })).toThrow('steps must not be less than 1');
      expect(valid({ steps: 10_001, intervalMs: 0 })).toThrow('steps must not be greater than 10000');
      expect(valid({ steps: 1.5, intervalMs: 0 })).toThrow('steps must be an integer number');
      expect(valid({ steps: 1, intervalMs: -1 })).toThrow('intervalMs must not be less than 0');
      expect(valid({ steps: 1, intervalMs: 60_001 })).toThrow('intervalMs must not be greater than 60000');
      expect(valid({ steps: 1 })).toThrow(/intervalMs .*must be an integer number/);
      expect(valid({ intervalMs: 1 })).toThrow(/steps .*must be an integer number/);
    });
  });

  describe('failing', () => {
    const sut = new FailingAgent();

    it('thinks, then fails with the given message', async () => {
      const { context, notifier } = runContext({ message: 'Out of coffee' });
      await expect(sut.run(context)).rejects.toThrow(new Error('Out of coffee'));
      expect(notifier.calls).toEqual([{ method: 'thinking', thought: expect.any(String) }]);
    });

    it('fails with a default message when none is given', async () => {
      const { context, notifier } = runContext({});
      await expect(sut.run(context)).rejects.toThrow(new Error(DEFAULT_FAILURE_MESSAGE));
      expect(DEFAULT_FAILURE_MESSAGE).toBe('The failing agent failed, as it always does.');
      expect(notifier.calls).toHaveLength(1);
    });

    it('takes an optional string message', () => {
      expect(validatePayload(FailingInput, {}, 'input')).toEqual({});
      expect(() => validatePayload(FailingInput, { message: 42 }, 'input')).toThrow('message must be a string');
    });
  });

  describe('approval', () => {
    const sut = new ApprovalAgent();
    /** An interrupt that records the request and answers with `resolution`. */
    const answering = (resolution: 'approved' | 'denied' | 'expired', asked: InterruptRequest[]) =>
      (async (request: InterruptRequest) => {
        asked.push(request);
        return { interruptId: 'i-1', resolution };
      }) as InterruptFn;

    it('asks "Approve: <action>?" for the perform tool, then performs it under the same toolCallId', async () => {
      const asked: InterruptRequest[] = [];
      const { context, notifier } = runContext({ action: 'deploy', timeoutMs: 500 }, undefined, answering('approved', asked));
      await expect(sut.run(context)).resolves.toBe('performed deploy');
      expect(asked).toEqual([
        {
          kind: 'approval',
          message: 'Approve: deploy?',
          tool: 'perform',
          args: { action: 'deploy' },
          toolCallId: expect.any(String),
          timeoutMs: 500,
        },
      ]);
      const toolCallId = (asked[0] as { toolCallId: string }).toolCallId;
      expect(notifier.calls).toEqual([
        { method: 'thinking', thought: expect.any(String) },
        { method: 'toolExecuting', tool: 'perform', args: { action: 'deploy' }, toolCallId },
        { method: 'toolCompleted', toolCallId, tool: 'perform', outcome: { result: 'performed deploy' }, durationMs: expect.any(Number) },
      ]);
    });

    it.each(['denied', 'expired'] as const)('declines without performing when %s', async (resolution) => {
      const { context, notifier } = runContext({ action: 'deploy' }, undefined, answering(resolution, []));
      await expect(sut.run(context)).resolves.toBe('declined');
      expect(notifier.calls.map((c) => c.method)).toEqual(['thinking']);
    });

    it('takes an action of 1–200 chars and an optional positive integer timeoutMs', () => {
      expect(validatePayload(ApprovalInput, { action: 'x' }, 'input')).toEqual({ action: 'x' });
      expect(() => validatePayload(ApprovalInput, { action: '' }, 'input')).toThrow(/action/);
      expect(() => validatePayload(ApprovalInput, { action: 'x'.repeat(201) }, 'input')).toThrow(/action/);
      expect(() => validatePayload(ApprovalInput, { action: 'x', timeoutMs: 0 }, 'input')).toThrow(/timeoutMs/);
      expect(() => validatePayload(ApprovalInput, { action: 'x', timeoutMs: 1.5 }, 'input')).toThrow(/timeoutMs/);
    });
  });
});
