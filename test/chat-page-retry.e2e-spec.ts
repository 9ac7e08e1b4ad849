import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM, describeInBrowser } from './support/chat-browser';
import { HttpClient } from './support/http-client';
import { interceptStarts, type StartInterceptor } from './support/start-interceptor';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The chat page sends its starts through the typed client: a message whose start is cut off
 * (the page's connection breaks after the server took the start, before its answer came back)
 * runs once, and the page shows it once.
 */
describeInBrowser('chat page: a message sent while the connection breaks runs once', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let browser: Browser;
  let page: Page;
  let interceptor: StartInterceptor;

  beforeAll(async () => {
    t = await startTestApp({ JWT_SECRET: '' });
    proxy = await startTcpProxy('127.0.0.1', Number(new URL(t.url).port));
    interceptor = interceptStarts(t.app, proxy);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext()).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await t?.close();
  });

  it('shows the one run with each event once, and the server has one run', async () => {
    await page.goto(`http://127.0.0.1:${proxy.port}/`);
    await page.getByTestId('token-input').fill('jules');
    await page.getByTestId('connect').click();
    await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();

    interceptor.cutNextStart(500);
    await page.getByTestId('agent-select').selectOption('echo');
    await page.getByTestId('message-input').fill('typed as the network dropped');
    await page.getByTestId('send').click();
    const view = page.locator('#conversation [data-testid="run"]').first();
    await view.waitFor();
    await page.locator('#conversation [data-testid="run"][data-status="completed"]').waitFor({ timeout: 15_000 });
    const runId = await view.getAttribute('data-run-id');

    expect(interceptor.starts).toHaveLength(2);
    expect(interceptor.starts[1].idempotencyKey).toBe(interceptor.starts[0].idempotencyKey);
    expect(await page.locator('#conversation [data-testid="run"]').count()).toBe(1);
    const types = await view.locator('[data-testid="event"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(types).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);

    const { token } = (await new HttpClient(t.url).post('/auth/dev-token', { userId: 'jules' })).body as { token: string };
    const runs = (await new HttpClient(t.url, token).get('/runs')).body.runs as { runId: string }[];
    expect(runs.map((r) => r.runId)).toEqual([runId]);
  });
});
