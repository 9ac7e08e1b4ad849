import { command, ofRun, recordEvents, startTestApp, TestApp, waitForTerminal } from './support/test-app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('runs echo', async () => {
    const s = await t.connect('alice');
    const events = recordEvents(s);
    const list = await command(s, 'agents:list', {});
    expect(list.ok).toBe(true);
    const ack = await command(s, 'run:start', { agent: 'echo', input: { text: 'hi' } });
    expect(ack.ok).toBe(true);
    const terminal = await waitForTerminal(events, ack.runId);
    expect(terminal.type).toBe('agent_completed');
    console.log(JSON.stringify(ofRun(events, ack.runId)), JSON.stringify(list));
  });
});
