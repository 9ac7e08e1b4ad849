import { PipelineError } from '../../../errors/pipeline.error';
import { RunEventBus } from '../../../emitter/run-event.bus';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { AgentService } from '../../../runs/agent.service';
import type { RunRecord } from '../../../store/run-store.interface';
import { RunEventFollower, type RunEventSink } from './run-event.follower';

const RUN_ID = 'run-1';

function event(seq: number, type: AgentEventEnvelope['type'] = 'agent_thinking'): AgentEventEnvelope {
  return { runId: RUN_ID, threadId: 't', seq, type, agent: 'countdown', ts: new Date(0).toISOString(), data: {} as never };
}

/** A sink that records what it was given. */
function recorder() {
  const seqs: number[] = [];
  let ended = 0;
  const sink: RunEventSink = { event: (e) => seqs.push(e.seq), end: () => ended++ };
  return { sink, seqs, ended: () => ended };
}

describe('RunEventFollower', () => {
  let bus: RunEventBus;
  let status: RunRecord['status'];
  let store: AgentEventEnvelope[];
  let agents: Pick<AgentService, 'getRun' | 'replay'>;
  let sut: RunEventFollower;

  const record = () => ({ runId: RUN_ID, userId: 'alice', status }) as RunRecord;

  beforeEach(() => {
    bus = new RunEventBus();
    status = 'running';
    store = [];
    agents = {
      getRun: jest.fn(async (userId: string) => {
        if (userId !== 'alice') throw PipelineError.runNotFound(RUN_ID);
        return record();
      }),
      // What the store holds when the read happens.
      replay: jest.fn(async (_userId: string, _runId: string, afterSeq = 0) => ({
        run: record(),
        events: store.filter((e) => e.seq > afterSeq),
      })),
    };
    sut = new RunEventFollower(agents as AgentService, bus);
  });

  it('delivers events published while the store is read exactly once, after the stored ones', async () => {
    store = [event(1, 'agent_started'), event(2)];
    (agents.replay as jest.Mock).mockImplementationOnce(() => {
      // The run goes on while its events are read: 3 is stored too late for the read, 2 and 3
      // are published after the subscription (2 is therefore seen twice).
      bus.publish(event(2));
      bus.publish(event(3));
      return Promise.resolve({ run: record(), events: [...store] });
    });
    const follow = await sut.open('alice', RUN_ID, 0);
    const r = recorder();
    bus.publish(event(4));
    follow.start(r.sink);
    expect(r.seqs).toEqual([1, 2, 3, 4]);
    bus.publish(event(5));
    bus.publish(event(6, 'agent_completed'));
    expect(r.seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.ended()).toBe(1);
    // Nothing after the terminal event, and nothing left subscribed.
    bus.publish(event(7));
    expect(r.seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bus.followedRuns).toBe(0);
  });

  it('starts after afterSeq', async () => {
    store = [event(1, 'agent_started'), event(2), event(3)];
    const follow = await sut.open('alice', RUN_ID, 2);
    const r = recorder();
    follow.start(r.sink);
    expect(r.seqs).toEqual([3]);
    expect(agents.replay).toHaveBeenCalledWith('alice', RUN_ID, 2);
  });

  it('ends at once when the run had ended and nothing is after afterSeq', async () => {
    status = 'completed';
    store = [event(1, 'agent_started'), event(2, 'agent_completed')];
    const follow = await sut.open('alice', RUN_ID, 2);
    const r = recorder();
    follow.start(r.sink);
    expect(r.seqs).toEqual([]);
    expect(r.ended()).toBe(1);
    expect(bus.followedRuns).toBe(0);
  });

  it('keeps following a run that was running when read, even with nothing stored yet', async () => {
    const follow = await sut.open('alice', RUN_ID, 0);
    const r = recorder();
    follow.start(r.sink);
    expect(r.ended()).toBe(0);
    bus.publish(event(1, 'agent_started'));
    bus.publish(event(2, 'agent_cancelled'));
    expect(r.seqs).toEqual([1, 2]);
    expect(r.ended()).toBe(1);
  });

  it('refuses another user without subscribing', async () => {
    await expect(sut.open('mallory', RUN_ID, 0)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(bus.followedRuns).toBe(0);
    expect(agents.replay).not.toHaveBeenCalled();
  });

  it('unsubscribes when the store read fails', async () => {
    (agents.replay as jest.Mock).mockRejectedValueOnce(new Error('disk on fire'));
    await expect(sut.open('alice', RUN_ID, 0)).rejects.toThrow('disk on fire');
    expect(bus.followedRuns).toBe(0);
  });

  it('stop() drops the subscription without ending the sink', async () => {
    const follow = await sut.open('alice', RUN_ID, 0);
    const r = recorder();
    follow.start(r.sink);
    follow.stop();
    bus.publish(event(1, 'agent_started'));
    expect(r.seqs).toEqual([]);
    expect(r.ended()).toBe(0);
    expect(bus.followedRuns).toBe(0);
  });

  it('catchUp() delivers stored events the bus never carried (a run on another node), once', async () => {
    const follow = await sut.open('alice', RUN_ID, 0);
    const r = recorder();
    follow.start(r.sink);
    store = [event(1, 'agent_started'), event(2)];
    await follow.catchUp();
    expect(r.seqs).toEqual([1, 2]);
    bus.publish(event(2));
    store.push(event(3, 'agent_completed'));
    await follow.catchUp();
    expect(r.seqs).toEqual([1, 2, 3]);
    expect(r.ended()).toBe(1);
  });

  it('catchUp() ends the follow when the run no longer exists', async () => {
    const follow = await sut.open('alice', RUN_ID, 0);
    const r = recorder();
    follow.start(r.sink);
    (agents.replay as jest.Mock).mockRejectedValueOnce(PipelineError.runNotFound(RUN_ID));
    await follow.catchUp();
    expect(r.ended()).toBe(1);
    expect(follow.isFinished).toBe(true);
  });
});
