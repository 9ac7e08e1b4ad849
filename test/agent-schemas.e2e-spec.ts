import Ajv2020 from 'ajv/dist/2020';
import { HttpClient } from './support/http-client';
import { command, startTestApp, TestApp } from './support/test-app';

/** The input schema of every demo agent, as DESIGN.md's demo-agent table describes their inputs. */
const DEMO_SCHEMAS: Record<string, object> = {
  echo: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  calculator: { type: 'object', properties: { expression: { type: 'string', maxLength: 1000 } }, required: ['expression'] },
  countdown: {
    type: 'object',
    properties: {
      steps: { type: 'integer', minimum: 1, maximum: 10_000 },
      intervalMs: { type: 'integer', minimum: 0, maximum: 60_000 },
    },
    required: ['steps', 'intervalMs'],
  },
  failing: { type: 'object', properties: { message: { type: 'string' } } },
  approval: {
    type: 'object',
    properties: { action: { type: 'string', minLength: 1, maxLength: 200 }, timeoutMs: { type: 'integer', minimum: 1 } },
    required: ['action'],
  },
};

describe('agent input schemas (GET /agents, agents:list)', () => {
  let t: TestApp;
  let http: HttpClient;
  beforeAll(async () => {
    t = await startTestApp();
    http = new HttpClient(t.url, t.token('schema-alice'));
  });
  afterAll(() => t.close());

  it('GET /agents gives each demo agent its input schema and whether it is durable', async () => {
    const res = await http.get('/agents');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries((res.body as Array<{ name: string }>).map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(DEMO_SCHEMAS).sort());
    for (const [name, inputSchema] of Object.entries(DEMO_SCHEMAS)) {
      expect(byName[name]).toEqual({ name, description: expect.any(String), inputSchema, durable: expect.any(Boolean) });
    }
    for (const name of ['echo', 'calculator', 'failing']) expect(byName[name]).toMatchObject({ durable: false });
  });

  it('agents:list gives the same list as GET /agents', async () => {
    const socket = await t.connect('schema-alice');
    const ack = await command(socket, 'agents:list', {});
    expect(ack).toEqual({ ok: true, agents: (await http.get('/agents')).body });
    socket.disconnect();
  });

  it('each schema accepts the inputs the agent runs with and refuses the ones it refuses', async () => {
    const ajv = new Ajv2020({ strict: true });
    const agents = (await http.get('/agents')).body as Array<{ name: string; inputSchema: object }>;
    const schema = (name: string) => ajv.compile(agents.find((a) => a.name === name)!.inputSchema);
    const countdown = schema('countdown');
    expect(countdown({ steps: 3, intervalMs: 0 })).toBe(true);
    expect(countdown({ steps: 0, intervalMs: 0 })).toBe(false);
    expect(countdown({ steps: 3, intervalMs: 60_001 })).toBe(false);
    expect(countdown({ steps: 3 })).toBe(false);
    // The server refuses what the schema refuses: the schema tells a client the truth.
    const refused = await http.post('/runs', { agent: 'countdown', input: { steps: 3, intervalMs: 60_001 } });
    expect(refused.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const approval = schema('approval');
    expect(approval({ action: '' })).toBe(false);
    expect(approval({ action: 'x'.repeat(201) })).toBe(false);
    expect(approval({ action: 'deploy', timeoutMs: 5 })).toBe(true);
  });
});
