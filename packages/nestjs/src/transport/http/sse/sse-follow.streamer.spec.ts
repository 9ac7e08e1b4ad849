import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import type { ResolvedPipelineOptions } from '../../../pipeline.options';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { AgentService } from '../../../runs/agent.service';
import type { RunRegistry } from '../../../runs/run.registry';
import { RunFollow } from './run-event.follower';
import { SseFollowStreamer, type SseView } from './sse-follow.streamer';

const RUN_ID = 'run-1';

function event(seq: number, type: AgentEventEnvelope['type'] = 'agent_thinking'): AgentEventEnvelope {
  return { runId: RUN_ID, threadId: 't', seq, type, agent: 'countdown', ts: new Date(0).toISOString(), data: {} as never };
}

/** A response that records what is written; `writableLength` is what a test says is unread. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  headers: Record<string, string> = {};
  ended = false;
  writableLength = 0;
  get writableEnded(): boolean {
    return this.ended;
  }
  status(): this {
    return this;
  }
  setHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
  flushHeaders(): void {}
  write(text: string): boolean {
    this.written.push(text);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

function requestOf(destroyed = false): Request {
  return { socket: { destroyed, setNoDelay: () => undefined } } as unknown as Request;
}

/** A follow of a run, fed by hand through `receive` (as the event bus does). */
function followOf(stored: AgentEventEnvelope[] = []): RunFollow {
  // The store has nothing more: a catch-up on an idle tick finds nothing.
  const agents = { replay: async () => ({ events: [] }) } as unknown as AgentService;
  const follow = new RunFollow(agents, 'alice', RUN_ID, 0);
  follow.setStored(stored, false);
  return follow;
}

const view: SseView = { name: 'test', headers: { 'x-view': 'v1' }, frames: (e) => `<${e.seq}>`, end: () => '<end>' };

describe('SseFollowStreamer', () => {
  let sut: SseFollowStreamer;
  beforeEach(() => {
    jest.useFakeTimers();
    // Local run: no store poll; a long keep-alive, so only what a test does happens.
    sut = new SseFollowStreamer({ sseKeepAliveMs: 60_000 } as ResolvedPipelineOptions, { get: () => ({}) } as unknown as RunRegistry);
  });
  afterEach(() => jest.useRealTimers());

  it("writes each event in the view's format, then its end text, then ends the response", () => {
    const res = new FakeResponse();
    const follow = followOf([event(1, 'agent_started')]);
    sut.stream(requestOf(), res as unknown as Response, follow, 'alice', view);
    follow.receive(event(2));
    follow.receive(event(3, 'agent_completed'));
    expect(res.headers).toMatchObject({ 'content-type': 'text/event-stream; charset=utf-8', 'x-view': 'v1' });
    expect(res.written).toEqual(['<1>', '<2>', '<3>', '<end>']);
    expect(res.ended).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops following at once when the client left before the stream opened', () => {
    const res = new FakeResponse();
    const follow = followOf([event(1, 'agent_started')]);
    sut.stream(requestOf(true), res as unknown as Response, follow, 'alice', view);
    follow.receive(event(2));
    expect(res.written).toEqual([]);
    expect(follow.isFinished).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops following, without the end text, when the client goes away', () => {
    const res = new FakeResponse();
    const follow = followOf();
    sut.stream(requestOf(), res as unknown as Response, follow, 'alice', view);
    res.emit('close');
    follow.receive(event(1, 'agent_started'));
    expect(res.written).toEqual([]);
    expect(follow.isFinished).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('cuts off a client that leaves too much unread, without the end text, so it resumes', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const res = new FakeResponse();
    const follow = followOf();
    sut.stream(requestOf(), res as unknown as Response, follow, 'alice', view);
    follow.receive(event(1, 'agent_started'));
    res.writableLength = 5 * 1024 * 1024;
    follow.receive(event(2));
    follow.receive(event(3, 'agent_completed'));
    expect(res.written).toEqual(['<1>', '<2>']);
    expect(res.ended).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ msg: expect.stringContaining('too slow'), runId: RUN_ID }));
    warn.mockRestore();
  });

  it('writes keep-alive comments while idle, and ends every open stream, without the end text, at shutdown', () => {
    const res = new FakeResponse();
    const follow = followOf();
    sut.stream(requestOf(), res as unknown as Response, follow, 'alice', view);
    jest.advanceTimersByTime(60_000);
    expect(res.written).toEqual([': keep-alive\n\n']);
    sut.beforeApplicationShutdown();
    expect(res.ended).toBe(true);
    expect(res.written).toEqual([': keep-alive\n\n']);
    expect(follow.isFinished).toBe(true);
  });
});
