import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { AppConfig } from '../../../config/app.config';
import type { AgentEventEnvelope, AgentService, RunRegistry } from '../../../pipeline';
import { RunFollow } from './run-event.follower';
import { RunSsePump, type RunSseFormat } from './run-sse.pump';

const RUN_ID = 'run-1';

function event(seq: number, type: AgentEventEnvelope['type'] = 'agent_thinking'): AgentEventEnvelope {
  return { runId: RUN_ID, threadId: 't', seq, type, agent: 'countdown', ts: new Date(0).toISOString(), data: {} as never };
}

/** A response that records what is written; `writableLength` is what a test says is unread. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  get writableEnded(): boolean {
    return this.ended;
  }
  write(text: string): boolean {
    this.written.push(text);
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

/** A follow of a run, fed by hand through `receive` (as the event bus does). */
function followOf(stored: AgentEventEnvelope[] = []): RunFollow {
  // The store has nothing more: a catch-up on an idle tick finds nothing.
  const agents = { replay: async () => ({ events: [] }) } as unknown as AgentService;
  const follow = new RunFollow(agents, 'alice', RUN_ID, 0);
  follow.setStored(stored, false);
  return follow;
}

const format: RunSseFormat = { event: (e) => `<${e.seq}>`, end: () => '<end>' };

describe('RunSsePump', () => {
  let sut: RunSsePump;
  beforeEach(() => {
    jest.useFakeTimers();
    // Local run: no store poll; a long keep-alive, so only what a test does happens.
    sut = new RunSsePump({ sseKeepAliveMs: 60_000 } as AppConfig, { get: () => ({}) } as unknown as RunRegistry);
  });
  afterEach(() => jest.useRealTimers());

  it("writes each event in the protocol's format, then its end text, then ends the response", () => {
    const res = new FakeResponse();
    const follow = followOf([event(1, 'agent_started')]);
    sut.pipe(follow, res as unknown as Response, format, 'alice');
    follow.receive(event(2));
    follow.receive(event(3, 'agent_completed'));
    expect(res.written).toEqual(['<1>', '<2>', '<3>', '<end>']);
    expect(res.ended).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops following at once when the client left before the stream was piped', () => {
    const res = new FakeResponse();
    res.destroyed = true;
    const follow = followOf([event(1, 'agent_started')]);
    sut.pipe(follow, res as unknown as Response, format, 'alice');
    follow.receive(event(2));
    expect(res.written).toEqual([]);
    expect(follow.isFinished).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops following, without the end text, when the client goes away', () => {
    const res = new FakeResponse();
    const follow = followOf();
    sut.pipe(follow, res as unknown as Response, format, 'alice');
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
    sut.pipe(follow, res as unknown as Response, format, 'alice');
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
    sut.pipe(follow, res as unknown as Response, format, 'alice');
    jest.advanceTimersByTime(60_000);
    expect(res.written).toEqual([': keep-alive\n\n']);
    sut.beforeApplicationShutdown();
    expect(res.ended).toBe(true);
    expect(res.written).toEqual([': keep-alive\n\n']);
    expect(follow.isFinished).toBe(true);
  });
});
