import { Injectable, Scope } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { AgentNotifier } from '@agent-pipeline/nestjs';
import { CurrentTimeTool } from './current-time.tool';
import { ToolCallRunner, toolMessageContent } from './tool-call.runner';
import { Tool } from './tool.decorator';
import type { ToolContext, ToolHandler } from './tool.interface';
import { ToolRegistry } from './tool.registry';
import { AssistantAgent } from '../assistant.agent';
import type { LlmSettings } from '../llm.options';
import { McpMetrics } from '../mcp/mcp.metrics';
import { McpToolSource } from '../mcp/mcp-tool.source';
import { ToolCatalog } from './tool.catalog';
import { Registry } from 'prom-client';

async function registryWith(...providers: any[]): Promise<ToolRegistry> {
  const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [ToolRegistry, ...providers] }).compile();
  await moduleRef.init();
  return moduleRef.get(ToolRegistry);
}

const OBJECT = { type: 'object' as const };

/** The tools a run sees: the registry's, and no MCP server. */
function catalogOf(registry: ToolRegistry, approvalTools: string[] = []): ToolCatalog {
  const settings = { approvalTools, mcpServers: [] } as unknown as LlmSettings;
  const mcp = new McpToolSource(settings, new McpMetrics({ registry: new Registry() } as never));
  return new ToolCatalog(registry, mcp, settings);
}

/** A tool of the app under test (the server's own `calculate` lives with its demo agents). */
@Tool({ name: 'calculate', description: 'Adds two numbers.', parameters: OBJECT })
class CalculateTool implements ToolHandler<{ a: number; b: number }, number> {
  execute({ a, b }: { a: number; b: number }): number {
    return a + b;
  }
}

describe('ToolRegistry', () => {
  it('discovers @Tool() providers in registration order', async () => {
    const sut = await registryWith(CalculateTool, CurrentTimeTool);
    expect(sut.names()).toEqual(['calculate', 'current_time']);
    expect(sut.get('calculate')?.handler).toBeInstanceOf(CalculateTool);
    expect(sut.get('nope')).toBeUndefined();
  });

  it('refuses two tools of one name', async () => {
    @Tool({ name: 'calculate', description: 'again', parameters: OBJECT })
    class OtherCalculate implements ToolHandler {
      execute(): number {
        return 1;
      }
    }
    await expect(registryWith(CalculateTool, OtherCalculate)).rejects.toThrow(
      "Two tools are named 'calculate': OtherCalculate and CalculateTool. Tool names must be unique; rename one of them in its @Tool() decorator.",
    );
  });

  it('refuses names the provider API would refuse', async () => {
    @Tool({ name: 'what time', description: 'x', parameters: OBJECT })
    class Spaced implements ToolHandler {
      execute(): null {
        return null;
      }
    }
    await expect(registryWith(Spaced)).rejects.toThrow("@Tool() on Spaced has the invalid name 'what time'");
  });

  it('refuses parameters that are not an object schema or no valid JSON Schema', async () => {
    @Tool({ name: 'a', description: 'x', parameters: { type: 'string' } })
    class NotObject implements ToolHandler {
      execute(): null {
        return null;
      }
    }
    @Tool({ name: 'b', description: 'x', parameters: { type: 'object', properties: { s: { type: 'string', minLenght: 1 } } } })
    class Typo implements ToolHandler {
      execute(): null {
        return null;
      }
    }
    await expect(registryWith(NotObject)).rejects.toThrow(
      "@Tool() on NotObject ('a') has invalid parameters:\n  - #/type must be 'object'",
    );
    await expect(registryWith(Typo)).rejects.toThrow('unknown keyword: "minLenght"');
  });

  it('refuses request-scoped tools', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {}
    @Tool({ name: 'scoped', description: 'x', parameters: OBJECT })
    class Scoped implements ToolHandler {
      constructor(readonly dep: PerRequest) {}
      execute(): null {
        return null;
      }
    }
    await expect(registryWith(PerRequest, Scoped)).rejects.toThrow("@Tool() on Scoped ('scoped') must be a singleton provider");
  });
});

describe('current_time tool', () => {
  afterEach(() => jest.useRealTimers());

  it('tells the time in UTC or a given zone', () => {
    jest.useFakeTimers().setSystemTime(new Date('2026-03-05T14:07:09.000Z'));
    const sut = new CurrentTimeTool();
    // ICU versions differ on the comma after the weekday.
    expect(sut.execute({})).toEqual({
      iso: '2026-03-05T14:07:09.000Z',
      timeZone: 'UTC',
      local: expect.stringMatching(/^Thursday,? 5 March 2026 at 14:07:09$/),
    });
    expect(sut.execute({ timeZone: 'Asia/Tokyo' })).toEqual({
      iso: '2026-03-05T14:07:09.000Z',
      timeZone: 'Asia/Tokyo',
      local: expect.stringMatching(/^Thursday,? 5 March 2026 at 23:07:09$/),
    });
    expect(() => sut.execute({ timeZone: 'Mars/Olympus' })).toThrow("Unknown time zone 'Mars/Olympus'");
  });
});

describe('ToolCallRunner', () => {
  const calls: unknown[][] = [];
  const notifier: AgentNotifier = {
    thinking: () => undefined,
    messageDelta: () => '',
    toolExecuting: (tool, args, id) => (calls.push(['executing', id, tool, args]), id ?? ''),
    toolCompleted: (id, tool, outcome) => void calls.push(['completed', id, tool, outcome]),
  };
  const context = (signal = new AbortController().signal): ToolContext => ({ signal, userId: 'u', runId: 'r', threadId: 't' });

  @Tool({ name: 'echo_args', description: 'x', parameters: { type: 'object', properties: { n: { type: 'integer' } } } })
  class EchoArgs implements ToolHandler {
    seen?: ToolContext;
    execute(args: unknown, ctx: ToolContext): unknown {
      this.seen = ctx;
      return args;
    }
  }

  @Tool({ name: 'odd', description: 'x', parameters: OBJECT })
  class Odd implements ToolHandler {
    execute(): unknown {
      return { big: BigInt(1) };
    }
  }

  beforeEach(() => (calls.length = 0));

  it('passes parsed, validated args and the context; reports the result under the given event id', async () => {
    const registry = await registryWith(EchoArgs);
    const sut = new ToolCallRunner(catalogOf(registry));
    const ctx = context();
    await expect(sut.run({ id: 'call_1', name: 'echo_args', arguments: '{"n": 3}' }, notifier, ctx, 'event_1')).resolves.toEqual({
      result: { n: 3 },
    });
    expect((registry.get('echo_args')!.handler as EchoArgs).seen).toBe(ctx);
    expect(calls).toEqual([
      ['executing', 'event_1', 'echo_args', { n: 3 }],
      ['completed', 'event_1', 'echo_args', { result: { n: 3 } }],
    ]);
  });

  it('treats empty arguments as {} and turns undefined into null', async () => {
    const sut = new ToolCallRunner(catalogOf(await registryWith(EchoArgs)));
    await expect(sut.run({ id: 'c', name: 'echo_args', arguments: '  ' }, notifier, context())).resolves.toEqual({ result: {} });
  });

  it('reports a result that is not JSON as the tool error', async () => {
    const sut = new ToolCallRunner(catalogOf(await registryWith(Odd)));
    const outcome = await sut.run({ id: 'c', name: 'odd', arguments: '{}' }, notifier, context());
    expect(outcome.error).toMatch(/^Tool 'odd' returned a value that is not JSON: /);
  });

  it('lets an abort through instead of reporting it as a tool error', async () => {
    @Tool({ name: 'slow', description: 'x', parameters: OBJECT })
    class Slow implements ToolHandler {
      execute(_args: unknown, { signal }: ToolContext): Promise<never> {
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped'))));
      }
    }
    const sut = new ToolCallRunner(catalogOf(await registryWith(Slow)));
    const controller = new AbortController();
    const running = sut.run({ id: 'c', name: 'slow', arguments: '{}' }, notifier, context(controller.signal));
    controller.abort('user');
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls.map((c) => c[0])).toEqual(['executing']);
  });

  it('asks the user first when given askUser: approved runs the tool, denied or expired never does', async () => {
    const sut = new ToolCallRunner(catalogOf(await registryWith(EchoArgs)));
    const asked: unknown[] = [];
    const answering = (resolution: 'approved' | 'denied' | 'expired', reason?: string) =>
      (async (request: unknown) => {
        asked.push(request);
        return { interruptId: 'i', resolution, ...(reason ? { reason } : {}) };
      }) as never;

    await expect(
      sut.run({ id: 'c1', name: 'echo_args', arguments: '{"n": 1}' }, notifier, context(), 'e1', answering('approved')),
    ).resolves.toEqual({
      result: { n: 1 },
    });
    expect(asked).toEqual([
      { kind: 'approval', message: expect.stringContaining('echo_args'), tool: 'echo_args', args: { n: 1 }, toolCallId: 'e1' },
    ]);
    expect(calls.map((c) => c[0])).toEqual(['executing', 'completed']);

    calls.length = 0;
    const denied = await sut.run({ id: 'c2', name: 'echo_args', arguments: '{}' }, notifier, context(), 'e2', answering('denied', 'nope'));
    expect(denied.error).toBe(
      'The user declined this call, so it was not made (echo_args did not run); their reason: nope. Do not call it again unless the user asks; tell the user instead.',
    );
    const expired = await sut.run({ id: 'c3', name: 'echo_args', arguments: '{}' }, notifier, context(), 'e3', answering('expired'));
    expect(expired.error).toMatch(/^The user did not answer in time/);
    expect(calls).toEqual([]);

    // A call that cannot run anyway does not bother the user.
    asked.length = 0;
    await sut.run({ id: 'c4', name: 'missing', arguments: '{}' }, notifier, context(), 'e4', answering('approved'));
    await sut.run({ id: 'c5', name: 'echo_args', arguments: '{oops' }, notifier, context(), 'e5', answering('approved'));
    expect(asked).toEqual([]);
  });

  it('needs approval for tools declared needsApproval and for those in LLM_APPROVAL_TOOLS', async () => {
    @Tool({ name: 'send_mail', description: 'x', parameters: OBJECT, needsApproval: true })
    class SendMail implements ToolHandler {
      execute(): unknown {
        return 'sent';
      }
    }
    const registry = await registryWith(EchoArgs, SendMail, CalculateTool);
    const settings = { approvalTools: ['calculate'], mcpServers: [] } as unknown as LlmSettings;
    const assistant = new AssistantAgent(
      undefined as never,
      catalogOf(registry, ['calculate']),
      undefined as never,
      undefined as never,
      settings,
    );
    expect(assistant.needsApproval('send_mail')).toBe(true);
    expect(assistant.needsApproval('calculate')).toBe(true);
    expect(assistant.needsApproval('echo_args')).toBe(false);
  });

  it('formats tool messages: strings as they are, other results as JSON, errors as {error}', () => {
    expect(toolMessageContent({ result: 'plain' })).toBe('plain');
    expect(toolMessageContent({ result: 20 })).toBe('20');
    expect(toolMessageContent({ result: { a: [1] } })).toBe('{"a":[1]}');
    expect(toolMessageContent({ error: 'bad "x"' })).toBe('{"error":"bad \\"x\\""}');
  });
});
