import { RUN_STORE, type RunStore } from '@agent-pipeline/nestjs';
import { HttpClient, metricValue } from './support/http-client';
import { startTestApp, TestApp } from './support/test-app';

describe('OpenAPI document, health and metrics', () => {
  let t: TestApp;
  let http: HttpClient;
  beforeAll(async () => {
    t = await startTestApp();
    http = new HttpClient(t.url, t.token('alice'));
  });
  afterAll(() => t.close());

  describe('GET /docs', () => {
    let doc: any;
    beforeAll(async () => {
      const res = await http.as(undefined).get('/docs-json');
      expect(res.status).toBe(200);
      doc = res.body;
    });

    it('serves the UI without a token', async () => {
      const res = await fetch(`${t.url}/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('swagger');
    });

    it('lists every route of the HTTP API', () => {
      expect(doc.openapi).toMatch(/^3\./);
      const routes = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(routes).toEqual(
        expect.arrayContaining([
          'POST /runs',
          'GET /runs',
          'GET /runs/{runId}',
          'GET /runs/{runId}/events',
          'GET /runs/{runId}/stream',
          'POST /runs/{runId}/cancel',
          'GET /threads',
          'GET /threads/{threadId}',
          'DELETE /threads/{threadId}',
          'GET /agents',
          'GET /health',
          'GET /metrics',
          'POST /auth/dev-token',
          'GET /auth/config',
        ]),
      );
    });

    it('describes the error answers of every protected route with the error body', () => {
      const protectedRoutes: Array<[string, string, string[]]> = [
        ['/runs', 'post', ['202', '200', '400', '401', '404', '413', '429', '500']],
        ['/runs', 'get', ['200', '400', '401']],
        ['/runs/{runId}', 'get', ['200', '401', '404']],
        ['/runs/{runId}/events', 'get', ['200', '400', '401', '404']],
        ['/runs/{runId}/stream', 'get', ['200', '400', '401', '404']],
        ['/runs/{runId}/cancel', 'post', ['202', '401', '404', '409']],
        ['/agents', 'get', ['200', '401']],
        ['/threads', 'get', ['200', '400', '401']],
        ['/threads/{threadId}', 'get', ['200', '401', '404']],
        ['/threads/{threadId}', 'delete', ['204', '401', '404', '409']],
      ];
      for (const [path, method, statuses] of protectedRoutes) {
        const op = doc.paths[path][method];
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(statuses));
        expect(op.security).toEqual([{ bearer: [] }]);
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(op.responses[status].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBodyDto' });
        }
      }
      expect(doc.paths['/runs'].post.responses['429'].headers).toHaveProperty('Retry-After');
      expect(doc.paths['/runs/{runId}/stream'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
      expect(doc.paths['/health'].get.responses).toHaveProperty('503');
    });

    it('generates the schemas from the DTOs', () => {
      const schemas = doc.components.schemas;
      expect(schemas.ErrorBodyDto.required).toEqual(expect.arrayContaining(['statusCode', 'code', 'message']));
      expect(schemas.ErrorBodyDto.properties.code.enum).toEqual(
        expect.arrayContaining(['VALIDATION_FAILED', 'RUN_NOT_FOUND', 'RUN_FINISHED', 'TOO_MANY_RUNS', 'RATE_LIMITED']),
      );
      expect(schemas.StartRunDto.required).toEqual(['agent']);
      expect(Object.keys(schemas.RunDto.properties).sort()).toEqual(
        [
          'agent',
          'createdAt',
          'error',
          'finishedAt',
          'input',
          'interrupt',
          'lastSeq',
          'queuePosition',
          'queuedBehind',
          'result',
          'runId',
          'status',
          'threadId',
          'usage',
        ].sort(),
      );
      expect(schemas.RunUsageDto.required).toEqual(['inputTokens', 'outputTokens']);
      // GET /usage and the usage refusal of the start routes are documented.
      expect(Object.keys(doc.paths['/usage'].get.responses).sort()).toEqual(['200', '400', '401', '500']);
      expect(schemas.UsageReportDto.required).toEqual(['days', 'budget']);
      expect(doc.paths['/runs'].post.responses['429'].description).toContain('QUOTA_EXCEEDED');
      expect(doc.paths['/runs'].post.responses['429'].headers).toHaveProperty('Retry-After');
      expect(doc.paths['/runs'].post.parameters.map((p: { name: string }) => p.name)).toContain('traceparent');
      expect(schemas.RunDto.properties.status.enum).toEqual(['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled']);
      expect(schemas.RunInterruptDto.required).toEqual(expect.arrayContaining(['interruptId', 'kind', 'message', 'expiresAt']));
      const resume = doc.paths['/runs/{runId}/interrupts/{interruptId}'].post;
      expect(Object.keys(resume.responses).sort()).toEqual(['200', '400', '401', '404', '409', '413', '500']);
      expect(Object.keys(schemas.ResumeRunDto.properties).sort()).toEqual(['approved', 'reason', 'response']);
      expect(schemas.ResumedRunDto.required).toEqual(['runId', 'interruptId', 'resolution']);
      expect(schemas.ErrorBodyDto.properties.code.enum).toEqual(expect.arrayContaining(['INTERRUPT_NOT_FOUND', 'INTERRUPT_RESOLVED']));
      expect(schemas.StartRunDto.properties.multitask.enum).toEqual(['reject', 'enqueue', 'interrupt']);
      // `running` or `queued` when started; a replayed start (Idempotency-Key) tells its run's status now.
      expect(schemas.StartedRunDto.properties.status.enum).toEqual(['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled']);
      const startRun = doc.paths['/runs'].post;
      expect(startRun.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
      expect(startRun.responses['422'].description).toContain('IDEMPOTENCY_CONFLICT');
      expect(startRun.responses['202'].headers).toHaveProperty('Idempotent-Replayed');
      expect(schemas.ErrorBodyDto.properties.code.enum).toContain('THREAD_BUSY');
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      const listParams = doc.paths['/runs'].get.parameters.map((p: any) => p.name);
      expect(listParams).toEqual(expect.arrayContaining(['limit', 'status', 'threadId', 'before']));
      expect(schemas.RunListDto.required).toEqual(expect.arrayContaining(['runs', 'next']));
      expect(Object.keys(schemas.ThreadDto.properties).sort()).toEqual(['agent', 'lastRunAt', 'lastStatus', 'runs', 'threadId', 'title']);
      expect(schemas.ErrorBodyDto.properties.code.enum).toContain('THREAD_NOT_FOUND');
    });
  });

  describe('GET /health', () => {
    it('is 200 with the store up, without a token', async () => {
      const res = await http.as(undefined).get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', details: { store: { status: 'up' } } });
      expect(res.headers.get('cache-control')).toContain('no-store');
    });

    it('is 503 naming the store when the store does not answer', async () => {
      const store = t.app.get<RunStore>(RUN_STORE);
      const ping = jest.spyOn(store, 'ping').mockRejectedValue(new Error('database is locked'));
      try {
        const res = await http.as(undefined).get('/health');
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ status: 'error', error: { store: { status: 'down', message: 'database is locked' } } });
      } finally {
        ping.mockRestore();
      }
      expect((await http.as(undefined).get('/health')).status).toBe(200);
    });
  });

  describe('GET /metrics', () => {
    const scrape = async () => {
      const res = await http.as(undefined).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      return res.body as string;
    };

    it('counts a finished run: started, ended, duration and events all go up', async () => {
      const before = await scrape();
      const run = await http.post('/runs?wait=true', { agent: 'echo', input: { text: 'count me' } });
      expect(run.status).toBe(200);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string> = {}) =>
        metricValue(after, name, labels) - metricValue(before, name, labels);
      expect(delta('agent_pipeline_runs_started_total', { agent: 'echo' })).toBe(1);
      expect(delta('agent_pipeline_runs_ended_total', { agent: 'echo', outcome: 'completed', code: '' })).toBe(1);
      expect(delta('agent_pipeline_run_duration_seconds_count', { agent: 'echo', outcome: 'completed' })).toBe(1);
      expect(delta('agent_pipeline_events_emitted_total', { type: 'agent_started' })).toBe(1);
      expect(delta('agent_pipeline_events_emitted_total', { type: 'agent_message_delta' })).toBe(1);
      expect(delta('agent_pipeline_events_emitted_total', { type: 'agent_completed' })).toBe(1);
    });

    it('counts failed runs by error code and cancelled runs apart', async () => {
      const before = await scrape();
      await http.post('/runs?wait=true', { agent: 'failing', input: { message: 'x' } });
      const started = await http.post('/runs', { agent: 'countdown', input: { steps: 1, intervalMs: 60_000 } });
      await http.post(`/runs/${started.body.runId}/cancel`);
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
      expect(delta('agent_pipeline_runs_ended_total', { agent: 'failing', outcome: 'failed', code: 'AGENT_FAILED' })).toBe(1);
      expect(delta('agent_pipeline_runs_ended_total', { agent: 'countdown', outcome: 'cancelled', code: '' })).toBe(1);
      expect(delta('agent_pipeline_runs_ended_total', { agent: 'echo', outcome: 'completed', code: '' })).toBe(0);
    });

    it('reports active runs and connected sockets as they are at scrape time', async () => {
      expect(metricValue(await scrape(), 'agent_pipeline_active_runs')).toBe(0);
      const socket = await t.connect('metrics-user');
      const started = await http.post('/runs', { agent: 'countdown', input: { steps: 1, intervalMs: 60_000 } });
      const during = await scrape();
      expect(metricValue(during, 'agent_pipeline_active_runs')).toBe(1);
      expect(metricValue(during, 'agent_pipeline_connected_sockets')).toBe(1);
      await http.post(`/runs/${started.body.runId}/cancel`);
      socket.disconnect();
      let after = await scrape();
      const deadline = Date.now() + 10_000;
      while (metricValue(after, 'agent_pipeline_connected_sockets') !== 0 && Date.now() < deadline) after = await scrape();
      expect(metricValue(after, 'agent_pipeline_connected_sockets')).toBe(0);
      expect(metricValue(after, 'agent_pipeline_active_runs')).toBe(0);
    });

    it('reports the queued runs of every thread, and how long started runs waited in the queue', async () => {
      const before = await scrape();
      expect(metricValue(before, 'agent_pipeline_queued_runs')).toBe(0);
      const threadId = 'metrics-queue';
      const first = await http.post('/runs', { agent: 'countdown', input: { steps: 1, intervalMs: 60_000 }, threadId });
      const queued = [];
      for (let i = 0; i < 2; i++) queued.push(await http.post('/runs', { agent: 'echo', input: { text: `q${i}` }, threadId }));
      expect(queued.map((r) => r.body.status)).toEqual(['queued', 'queued']);
      expect(metricValue(await scrape(), 'agent_pipeline_queued_runs')).toBe(2);
      await new Promise((r) => setTimeout(r, 200));
      await http.post(`/runs/${first.body.runId}/cancel`);
      let after = await scrape();
      const deadline = Date.now() + 10_000;
      while (metricValue(after, 'agent_pipeline_queued_runs') !== 0 && Date.now() < deadline) after = await scrape();
      expect(metricValue(after, 'agent_pipeline_queued_runs')).toBe(0);
      const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
      expect(delta('agent_pipeline_queue_wait_seconds_count', { agent: 'echo' })).toBe(2);
      // Both waited at least the 200 ms the first run held the thread.
      expect(delta('agent_pipeline_queue_wait_seconds_bucket', { agent: 'echo', le: '0.1' })).toBe(0);
      expect(after).toMatch(/# TYPE agent_pipeline_queue_wait_seconds histogram/);
    });

    it('includes the default process metrics', async () => {
      const text = await scrape();
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
      expect(text).toMatch(/# TYPE agent_pipeline_run_duration_seconds histogram/);
    });
  });
});
