import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Agent, AgentPipelineModule, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';

/**
 * An `input` question's `responseSchema` over the HTTP API: keywords far beyond types and
 * required properties (patterns, ranges, formats, combinators, conditionals) are enforced, and a
 * refused answer is a 400 `VALIDATION_FAILED` whose `details.fields` name each broken field.
 */
@Agent({ name: 'booker', description: 'Asks for a booking and confirms it.' })
class BookerAgent implements AgentHandler<unknown, string> {
  async run({ interrupt }: AgentRunContext): Promise<string> {
    const answer = await interrupt<{ code: string; guests: number }>({
      kind: 'input',
      message: 'Your booking?',
      responseSchema: {
        type: 'object',
        properties: {
          code: { type: 'string', pattern: '^[A-Z]{3}$' },
          guests: { type: 'integer', minimum: 1, maximum: 8 },
          mail: { type: 'string', format: 'email' },
          seats: { type: 'array', items: { type: 'integer' }, uniqueItems: true, maxItems: 8 },
          pet: { oneOf: [{ const: 'none' }, { type: 'object', properties: { kind: { enum: ['cat', 'dog'] } }, required: ['kind'] }] },
        },
        required: ['code', 'guests'],
        additionalProperties: false,
        if: { properties: { guests: { minimum: 5 } } },
        then: { required: ['mail'] },
      },
    });
    return answer.resolution === 'answered' ? `booked ${answer.response!.code} for ${answer.response!.guests}` : 'no booking';
  }
}

@Module({
  imports: [
    AgentPipelineModule.forRoot({
      databaseUrl: 'sqlite::memory:',
      auth: { verify: async (token: string) => (token.startsWith('user:') ? { userId: token.slice(5) } : null) },
    }),
  ],
  providers: [BookerAgent],
})
class AppModule {}

const call = (url: string, method: string, body?: unknown) =>
  fetch(url, {
    method,
    headers: { 'content-type': 'application/json', authorization: 'Bearer user:alice' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, body: (await res.json().catch(() => undefined)) as any }));

describe('interrupt responseSchema over HTTP (draft 2020-12, by Ajv)', () => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  async function question(runId: string): Promise<{ interruptId: string; responseSchema: unknown }> {
    for (let i = 0; i < 200; i++) {
      const run = await call(`${url}/runs/${runId}`, 'GET');
      if (run.body.interrupt) return run.body.interrupt;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the run never asked');
  }

  it('refuses answers that break keywords outside types and required, names each field, and takes a good one', async () => {
    const started = await call(`${url}/runs`, 'POST', { agent: 'booker' });
    expect(started.status).toBe(202);
    const { runId } = started.body;
    const { interruptId, responseSchema } = await question(runId);
    expect(responseSchema).toMatchObject({ properties: { code: { pattern: '^[A-Z]{3}$' } } });
    const answer = (response: unknown) => call(`${url}/runs/${runId}/interrupts/${interruptId}`, 'POST', { response });

    const bad = await answer({ code: 'lyon', guests: 0, mail: 'not-a-mail', seats: [3, 3], pet: { kind: 'fish' }, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('responseSchema') });
    const fields = Object.fromEntries((bad.body.details.fields as { field: string; errors: string[] }[]).map((f) => [f.field, f.errors]));
    expect(fields).toMatchObject({
      'response.code': ['must match pattern "^[A-Z]{3}$"'],
      'response.guests': ['must be >= 1'],
      'response.mail': ['must match format "email"'],
      'response.seats': [expect.stringMatching(/^must NOT have duplicate items/)],
      'response.pet': expect.arrayContaining(['must match exactly one schema in oneOf']),
      'response.extra': ['is not an allowed property'],
    });

    // if/then: five guests need a mail address.
    const conditional = await answer({ code: 'LYS', guests: 5 });
    expect(conditional.status).toBe(400);
    expect(conditional.body.details.fields).toEqual(expect.arrayContaining([{ field: 'response.mail', errors: ['is required'] }]));

    // The question stayed open through every refusal.
    expect((await call(`${url}/runs/${runId}`, 'GET')).body).toMatchObject({ status: 'waiting', interrupt: { interruptId } });
    const good = await answer({ code: 'LYS', guests: 5, mail: 'ada@example.com', seats: [1, 2], pet: 'none' });
    expect(good).toEqual({ status: 200, body: { runId, interruptId, resolution: 'answered' } });
    for (let i = 0; i < 200; i++) {
      const run = await call(`${url}/runs/${runId}`, 'GET');
      if (run.body.status === 'completed') return expect(run.body.result).toBe('booked LYS for 5');
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the run did not complete');
  });
});
