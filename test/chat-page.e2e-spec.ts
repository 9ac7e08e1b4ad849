import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { FakeLlmServer, textReply } from '@agent-pipeline/llm/testing';
import { SocketRoomPublisher } from '../packages/nestjs/src/emitter/socket-room.publisher';
import { makeProviderKey, signWith, JwksServer, type ProviderKey } from './support/jwks-server';
import * as jwt from 'jsonwebtoken';
import { resumeOrphanedRun } from './support/orphaned-run';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/test-app';
import { APPROVED_APPROVAL_RUN } from './support/demo-runs';
import { CHROMIUM, CHROMIUM_ARGS, describeInBrowser, eventTypes, expectConnected, run, send } from './support/chat-browser';

const OUTPUT_DIR = join(__dirname, '..', 'test-output');

describeInBrowser('chat page (GET /) in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let echoRunId: string;
  let countdownRunId: string;

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    // JWT_SECRET '' = development auth: the page signs in by user name through POST /auth/dev-token.
    t = await startTestApp({ JWT_SECRET: '' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  // Script errors and failed requests (console errors) fail the test they happened in.
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  it('serves a self-contained page and its bundled script', async () => {
    const html = await fetch(`${t.url}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    const body = await html.text();
    // No external resources: every src/href is relative to this server.
    expect(body.match(/(?:src|href)="[^"]*"/g)?.filter((ref) => /\/\/|^(?:src|href)="http/.test(ref)) ?? []).toEqual([]);
    const script = await fetch(`${t.url}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await script.text()).length).toBeGreaterThan(10_000);
  });

  it('signs in by user name (development auth) and lists the agents', async () => {
    await page.goto(t.url);
    await expect(page.getByTestId('connection-status').textContent()).resolves.toBe('signed out');
    // The page asked GET /auth/config and offers sign-in by user name.
    await page.locator('#login-form[data-dev-auth="true"]').waitFor();
    expect(await page.getByTestId('token-label').textContent()).toMatch(/^User name/);
    await page.getByTestId('token-input').fill('alice');
    await page.getByTestId('connect').click();
    await expectConnected(page);
    expect(await page.locator('#whoami').textContent()).toContain('alice');
    const agents = await page.$$eval('[data-testid="agent-select"] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(agents).toEqual(expect.arrayContaining(['echo', 'calculator', 'countdown', 'failing']));
  });

  it('runs echo live and shows its result', async () => {
    echoRunId = await send(page, 'echo', 'hello from the browser');
    await page.locator(`${run(echoRunId)}[data-status="completed"] [data-testid="run-result"]`).waitFor();
    expect(await eventTypes(page, run(echoRunId))).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);
    expect(await page.locator(`${run(echoRunId)} [data-testid="run-result"]`).textContent()).toContain('hello from the browser');
    expect(await page.locator(`${run(echoRunId)} [data-testid="cancel-run"]`).count()).toBe(0);
  });

  it('shows tool calls with their arguments and results, and errors', async () => {
    const calcId = await send(page, 'calculator', '{"expression": "(1.5 + 2) * 4"}');
    await page.locator(`${run(calcId)}[data-status="completed"]`).waitFor();
    expect(await eventTypes(page, run(calcId))).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_completed',
    ]);
    expect(await page.locator(`${run(calcId)} [data-type="tool_executing"]`).textContent()).toContain('(1.5 + 2) * 4');
    expect(await page.locator(`${run(calcId)} [data-testid="run-result"]`).textContent()).toContain('14');

    const failingId = await send(page, 'failing', '{"message": "on purpose"}');
    await page.locator(`${run(failingId)}[data-status="failed"]`).waitFor();
    expect(await page.locator(`${run(failingId)} [data-testid="run-result"]`).textContent()).toContain('on purpose');
  });

  it('shows a refused start as an alert, not as a run, and the field errors next to their fields', async () => {
    await page.getByTestId('agent-select').selectOption('countdown');
    await page.getByTestId('message-input').fill('{"steps": 0, "intervalMs": 1}');
    await page.getByTestId('send').click();
    const refused = page.locator('[data-testid="run-refused"]').last();
    await refused.waitFor();
    expect(await refused.textContent()).toContain('VALIDATION_FAILED');
    const stepsError = page.locator('[data-testid="input-field"][data-field="steps"] [data-testid="field-error"]');
    await stepsError.waitFor();
    expect(await stepsError.textContent()).toMatch(/steps .*1/);
    // Text that is no JSON object, for an agent that takes fields: said next to the message box, nothing sent.
    const before = await page.locator('[data-testid="run-refused"], #conversation [data-testid="run"]').count();
    await page.getByTestId('message-input').fill('not a valid countdown input');
    await page.getByTestId('send').click();
    await page.locator('#send-error', { hasText: 'fields below' }).waitFor();
    expect(await page.locator('[data-testid="run-refused"], #conversation [data-testid="run"]').count()).toBe(before);
    await page.getByTestId('message-input').fill('');
  });

  it('runs a long countdown live and cancels it with the cancel button', async () => {
    countdownRunId = await send(page, 'countdown', '{"steps": 1000, "intervalMs": 50}');
    await page
      .locator(`${run(countdownRunId)}[data-status="running"] [data-type="agent_thinking"]`)
      .first()
      .waitFor();
    await page.locator(`${run(countdownRunId)} [data-testid="cancel-run"]`).click();
    await page.locator(`${run(countdownRunId)}[data-status="cancelled"]`).waitFor();
    const types = await eventTypes(page, run(countdownRunId));
    expect(types[types.length - 1]).toBe('agent_cancelled');
    expect(types.length).toBeLessThan(1002);
    expect(await page.locator(`${run(countdownRunId)} [data-testid="cancel-run"]`).count()).toBe(0);
    await page.screenshot({ path: join(OUTPUT_DIR, 'chat-page.png'), fullPage: true });
  });

  it('queues a message sent while the previous answer is still coming, shows it as queued and cancels it', async () => {
    const busyId = await send(page, 'countdown', '{"steps": 1000, "intervalMs": 50}');
    await page
      .locator(`${run(busyId)}[data-status="running"] [data-type="agent_thinking"]`)
      .first()
      .waitFor();
    const queuedId = await send(page, 'echo', 'waiting my turn');
    const queued = page.locator(`${run(queuedId)}[data-status="queued"]`);
    await queued.waitFor();
    expect(await queued.locator('.badge').textContent()).toContain('queued');
    expect(await eventTypes(page, run(queuedId))).toEqual([]);
    const nextId = await send(page, 'echo', 'after the queue');
    await page.locator(`${run(nextId)}[data-status="queued"]`).waitFor();
    // Cancelling the queued run ends it without starting it: its only event is agent_cancelled.
    await queued.locator('[data-testid="cancel-run"]').click();
    await page.locator(`${run(queuedId)}[data-status="cancelled"]`).waitFor();
    expect(await eventTypes(page, run(queuedId))).toEqual(['agent_cancelled']);
    // Cancelling the running one lets the next queued message run.
    await page.locator(`${run(busyId)} [data-testid="cancel-run"]`).click();
    await page.locator(`${run(nextId)}[data-status="completed"]`).waitFor();
    expect(await eventTypes(page, run(nextId))).toEqual(['agent_started', 'agent_thinking', 'agent_message_delta', 'agent_completed']);
  });

  it('shows the past runs after a reload, with their events and results', async () => {
    await page.reload();
    await expectConnected(page);
    const history = '[data-testid="history"]';
    await page
      .locator(`${history} ${run(echoRunId)}[data-status="completed"] [data-type="agent_completed"]`)
      .waitFor({ state: 'attached' });
    expect(await page.locator(`${history} ${run(echoRunId)} [data-testid="run-result"]`).textContent()).toContain('hello from the browser');
    await page.locator(`${history} ${run(countdownRunId)}[data-status="cancelled"]`).waitFor();
    // The session's conversation is reopened too, with the same runs.
    await page.locator(`#conversation ${run(echoRunId)}[data-status="completed"] [data-testid="run-result"]`).waitFor();
    // A cancelled run says why (its agent_cancelled event), not a bare "Cancelled:".
    await page.locator(`${history} ${run(countdownRunId)} [data-testid="run-result"]`, { hasText: 'reason: user' }).waitFor();
  });

  it('shows a durable run that lost its server as resumed, not as an error, and its result', async () => {
    const orphan = await resumeOrphanedRun(t.app, {
      userId: 'alice',
      agent: 'countdown',
      input: { steps: 2, intervalMs: 0 },
      events: [['agent_thinking', { thought: 'Step 1 of 2', step: 1 }]],
      steps: [{ name: 'tick-1', seq: 2, thinkingStep: 1 }],
    });
    await page.reload();
    await expectConnected(page);
    const resumed = `[data-testid="history"] ${run(orphan.runId)}`;
    await page.locator(`${resumed}[data-status="completed"] [data-type="agent_completed"]`).waitFor({ state: 'attached' });
    expect(await eventTypes(page, resumed)).toEqual([
      'agent_started',
      'agent_thinking',
      'agent_resumed',
      'agent_thinking',
      'agent_completed',
    ]);
    expect(await page.locator(`${resumed} [data-type="agent_resumed"]`).textContent()).toMatch(
      /^Resumed after its server was lost \(attempt 2/,
    );
    expect(await page.locator(`${resumed} [data-testid="run-result"]`).textContent()).toContain('2');
  });

  it('is usable with the keyboard only: Enter sends, Tab reaches the cancel button, Enter cancels', async () => {
    const input = page.getByTestId('message-input');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('message-input');
    // To the agent picker and back, choosing by typing its name.
    await page.keyboard.press('Shift+Tab');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('agent-select');
    await page.keyboard.type('countdown');
    expect(await page.getByTestId('agent-select').inputValue()).toBe('countdown');
    await page.keyboard.press('Tab');
    await page.keyboard.type('{"steps": 1000, "intervalMs": 50}');
    await page.keyboard.press('Enter');
    const started = page.locator('#conversation [data-testid="run"][data-status="running"]');
    await started.locator('[data-type="agent_thinking"]').first().waitFor();
    expect(await input.inputValue()).toBe('');
    const runId = (await started.getAttribute('data-run-id'))!;

    // Backwards from the message box, the newest run's cancel button is a few Tab presses away.
    let onCancel = false;
    for (let presses = 0; presses < 10 && !onCancel; presses++) {
      await page.keyboard.press('Shift+Tab');
      onCancel = await page.evaluate(
        (id) =>
          document.activeElement?.getAttribute('data-testid') === 'cancel-run' && !!document.activeElement.closest(`[data-run-id="${id}"]`),
        runId,
      );
    }
    expect(onCancel).toBe(true);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.locator(`${run(runId)}[data-status="cancelled"]`).waitFor();
    // The button is gone; focus goes back to the message box rather than being lost.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('message-input');
  });

  it('shows the reconnect indicator and renders a run exactly once through a dropped connection', async () => {
    // Every text the indicator shows, however briefly.
    await page.evaluate(() => {
      const status = document.querySelector('[data-testid="connection-status"]')!;
      const seen: string[] = ((window as unknown as { statusTexts: string[] }).statusTexts = []);
      new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const runId = await send(page, 'countdown', '{"steps": 40, "intervalMs": 25}');
    await page
      .locator(`${run(runId)} [data-type="agent_thinking"]`)
      .first()
      .waitFor();
    // The server closes every connection mid-run; the page's client reconnects and resumes the run.
    await t.app.get(SocketRoomPublisher).drainAndClose(5_000);
    await page.locator(`${run(runId)}[data-status="completed"]`).waitFor();
    const seqs = await page.$$eval(`${run(runId)} [data-testid="event"]`, (els) => els.map((e) => Number(e.getAttribute('data-seq'))));
    expect(seqs).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    await expectConnected(page);
    const texts = await page.evaluate(() => (window as unknown as { statusTexts: string[] }).statusTexts);
    expect(texts.some((text) => text.startsWith('reconnecting'))).toBe(true);
    expect(texts[texts.length - 1]).toBe('connected');
  });

  it('asks before the approval agent acts: approving in one tab updates the other tab of the same user', async () => {
    const tabs = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    try {
      const signIn = async (tab: Page) => {
        tab.on('pageerror', (err) => pageErrors.push(err.message));
        await tab.goto(t.url);
        await tab.getByTestId('token-input').fill('erin');
        await tab.getByTestId('connect').click();
        await expectConnected(tab);
      };
      const first = await tabs.newPage();
      await signIn(first);
      const runId = await send(first, 'approval', '{"action": "deploy"}');
      const question = `${run(runId)}[data-status="waiting"] [data-testid="interrupt"][data-status="pending"]`;
      await first.locator(question).waitFor();
      const interruptId = await first.locator(question).getAttribute('data-interrupt-id');
      expect(interruptId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await first.locator(question).textContent()).toContain('Approve: deploy?');
      expect(await first.locator(`${question}`).textContent()).toContain('perform');
      expect(await first.locator(`${question}`).textContent()).toContain('"action": "deploy"');

      // A second tab of erin finds the waiting run (its history) with the same open question.
      const second = await tabs.newPage();
      await signIn(second);
      const elsewhere = `[data-testid="history"] ${run(runId)}[data-status="waiting"] [data-testid="interrupt"][data-interrupt-id="${interruptId}"][data-status="pending"]`;
      await second.locator(elsewhere).waitFor();

      await first.locator(`${question} [data-testid="approve"]`).click();
      await first.locator(`${run(runId)}[data-status="completed"] [data-testid="interrupt"][data-status="approved"]`).waitFor();
      expect(await first.locator(`${run(runId)} [data-testid="run-result"]`).textContent()).toContain('performed deploy');
      expect(await eventTypes(first, run(runId))).toEqual([...APPROVED_APPROVAL_RUN]);
      // The other tab followed along: its buttons are gone and the run is completed there too.
      await second
        .locator(`[data-testid="history"] ${run(runId)}[data-status="completed"] [data-testid="interrupt"][data-status="approved"]`)
        .waitFor({
          state: 'attached',
        });
      expect(await second.locator(`${run(runId)} [data-testid="approve"]`).count()).toBe(0);

      // Denied from the second tab: the agent declines.
      const deniedId = await send(second, 'approval', '{"action": "drop the database"}');
      const deniedQuestion = `${run(deniedId)} [data-testid="interrupt"][data-status="pending"]`;
      await second.locator(deniedQuestion).waitFor();
      await second.locator(`${deniedQuestion} [data-testid="deny"]`).click();
      await second.locator(`${run(deniedId)}[data-status="completed"] [data-testid="interrupt"][data-status="denied"]`).waitFor();
      expect(await second.locator(`${run(deniedId)} [data-testid="run-result"]`).textContent()).toContain('declined');
    } finally {
      await tabs.close();
    }
  });

  it('fits a phone-sized viewport', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      const small = await phone.newPage();
      small.on('pageerror', (err) => pageErrors.push(err.message));
      await small.goto(t.url);
      await small.getByTestId('token-input').fill('bob');
      await small.getByTestId('connect').tap();
      await expectConnected(small);
      await small.getByTestId('agent-select').selectOption('echo');
      await small.getByTestId('message-input').fill('tiny screen');
      await small.getByTestId('send').tap();
      await small.locator('[data-testid="run"][data-status="completed"]').waitFor();
      const layout = await small.evaluate(() => {
        const box = (id: string) => document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          send: box('send'),
          input: box('message-input'),
          select: box('agent-select'),
          width: window.innerWidth,
          height: window.innerHeight,
        };
      });
      expect(layout.overflow).toBeLessThanOrEqual(0);
      for (const control of [layout.send, layout.input, layout.select]) {
        expect(control.left).toBeGreaterThanOrEqual(0);
        expect(control.right).toBeLessThanOrEqual(layout.width);
        expect(control.bottom).toBeLessThanOrEqual(layout.height);
        expect(control.height).toBeGreaterThanOrEqual(40); // touch-sized
      }
      await small.screenshot({ path: join(OUTPUT_DIR, 'chat-page-phone.png'), fullPage: false });
    } finally {
      await phone.close();
    }
  });
});

describeInBrowser(`chat page (GET /) in Chromium, without development auth`, () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp(); // JWT_SECRET set: POST /auth/dev-token answers 404
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('answers a user name with advice to paste a token, refuses a bad token, and signs in with a good one', async () => {
    const page = await browser.newPage();
    const scriptErrors: string[] = [];
    const devTokenRequests: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    page.on('request', (req) => req.url().includes('/auth/dev-token') && devTokenRequests.push(req.url()));
    await page.goto(t.url);
    // Development auth is off: the page asks for an access token only, and no longer offers user names.
    await page.locator('#login-form[data-dev-auth="false"]').waitFor();
    expect(await page.getByTestId('token-label').textContent()).toBe('Access token');
    expect(await page.getByTestId('login-hint').textContent()).not.toMatch(/user name/i);
    await page.getByTestId('token-input').fill('alice');
    await page.getByTestId('connect').click();
    await page.locator('#login-error:has-text("paste an access token")').waitFor();
    expect(devTokenRequests).toEqual([]);

    await page.getByTestId('token-input').fill(`${t.token('alice').slice(0, -4)}AAAA`);
    await page.getByTestId('connect').click();
    await page.locator('#login-error:has-text("refused this token")').waitFor();

    await page.getByTestId('token-input').fill(t.token('alice'));
    await page.getByTestId('connect').click();
    await expectConnected(page);
    expect(await page.locator('#whoami').textContent()).toContain('alice');
    expect(scriptErrors).toEqual([]);
  });

  it('asks for a new token once the session expires, instead of reconnecting with the old one', async () => {
    const page = await browser.newPage();
    const scriptErrors: string[] = [];
    const sockets: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(t.url);
    await page.locator('#login-form[data-dev-auth="false"]').waitFor();
    const shortLived = jwt.sign({ sub: 'expiring-erin', exp: Math.floor(Date.now() / 1000) + 3 }, TEST_JWT_SECRET, { algorithm: 'HS256' });
    await page.getByTestId('token-input').fill(shortLived);
    await page.getByTestId('connect').click();
    await expectConnected(page);

    await page.locator('#login-error:has-text("session expired")').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('connection-status').textContent()).toBe('signed out');
    const opened = sockets.length;
    await page.waitForTimeout(1500);
    // No reconnect loop with the expired token.
    expect(sockets.length).toBe(opened);
    expect(await page.getByTestId('token-input').inputValue()).toBe('');

    await page.getByTestId('token-input').fill(t.token('expiring-erin'));
    await page.getByTestId('connect').click();
    await expectConnected(page);
    expect(scriptErrors).toEqual([]);
  });
});

describeInBrowser(`chat page (GET /) in Chromium, with tokens of an identity provider (JWT_JWKS_URL)`, () => {
  const jwks = new JwksServer();
  let t: TestApp;
  let browser: Browser;
  let key: ProviderKey;
  beforeAll(async () => {
    key = await makeProviderKey('page-key', 'ES256');
    jwks.keys = [key];
    await jwks.start();
    t = await startTestApp({ JWT_SECRET: '', JWT_JWKS_URL: jwks.url, JWT_AUDIENCE: 'chat-page' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await jwks.stop();
  });

  it('signs in with a token of the provider, unchanged for the user', async () => {
    const page = await browser.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (err) => scriptErrors.push(err.message));
    await page.goto(t.url);
    await page.locator('#login-form[data-dev-auth="false"]').waitFor();
    await page.getByTestId('token-input').fill(await signWith(key, { sub: 'idp-page-user', aud: 'chat-page' }));
    await page.getByTestId('connect').click();
    await expectConnected(page);
    expect(await page.locator('#whoami').textContent()).toContain('idp-page-user');
    const runId = await send(page, 'echo', 'hello from the identity provider');
    await page.locator(`${run(runId)}[data-status="completed"]`).waitFor();
    expect(scriptErrors).toEqual([]);
  });
});

describeInBrowser(`chat page (GET /) in Chromium: conversations`, () => {
  let t: TestApp;
  let server: FakeLlmServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const SYSTEM = 'You are the test assistant.';

  beforeAll(async () => {
    server = await FakeLlmServer.start();
    t = await startTestApp({
      JWT_SECRET: '',
      LLM_BASE_URL: server.baseUrl,
      LLM_API_KEY: 'sk-test-conversations',
      LLM_MODEL: 'test-model',
      LLM_SYSTEM_PROMPT: SYSTEM,
      LLM_TIMEOUT_MS: '120000',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await server?.close();
  });
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  const thread = (threadId: string) => `[data-testid="thread"][data-thread-id="${threadId}"]`;
  const result = (runId: string) => page.locator(`#conversation ${run(runId)}[data-status="completed"] [data-testid="run-result"]`);

  it('continues the conversation with the assistant across messages and after a reload; New conversation starts afresh', async () => {
    await page.goto(t.url);
    await page.getByTestId('token-input').fill('ada');
    await page.getByTestId('connect').click();
    await expectConnected(page);

    server.enqueue(textReply(['Nice to meet you, Ada.'], { usage: [12, 3] }), textReply(['Your name is Ada.']));
    const first = await send(page, 'assistant', 'My name is Ada.');
    expect(await result(first).textContent()).toContain('Nice to meet you, Ada.');
    // The run's tokens, from its agent_completed event.
    const usage = (runId: string) => page.locator(`#conversation ${run(runId)} [data-testid="run-usage"]`);
    expect(await usage(first).textContent()).toBe('15 tokens (12 in, 3 out)');
    const second = await send(page, 'assistant', 'What is my name?');
    // The second answer depends on the first: the model was sent the first exchange.
    expect(await result(second).textContent()).toContain('Your name is Ada.');
    expect(server.requests[1].body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);
    const item = page.locator('[data-testid="thread-list"] [data-testid="thread"]');
    await expect(item.count()).resolves.toBe(1);
    const threadId = (await item.getAttribute('data-thread-id'))!;
    expect(await item.locator('.thread-title').textContent()).toBe('My name is Ada.');
    expect(await item.locator('.thread-open').getAttribute('aria-current')).toBe('true');

    // After a reload the conversation is reopened, and the next message continues it.
    await page.reload();
    await expectConnected(page);
    await result(first).waitFor();
    await result(second).waitFor();
    expect(await usage(first).textContent()).toBe('15 tokens (12 in, 3 out)');
    expect(await page.locator(`${thread(threadId)} .thread-open`).getAttribute('aria-current')).toBe('true');
    server.enqueue(textReply(['Still Ada.']));
    const third = await send(page, 'assistant', 'And now?');
    await result(third).waitFor();
    expect(server.requests[2].body.messages.map((m: { content: string }) => m.content)).toEqual([
      SYSTEM,
      'My name is Ada.',
      'Nice to meet you, Ada.',
      'What is my name?',
      'Your name is Ada.',
      'And now?',
    ]);

    // A new conversation: an empty page and an assistant that knows nothing yet.
    await page.getByTestId('new-thread').click();
    await expect(page.locator('#conversation [data-testid="run"]').count()).resolves.toBe(0);
    server.enqueue(textReply(['Hello, stranger.']));
    const fresh = await send(page, 'assistant', 'Who am I?');
    await result(fresh).waitFor();
    expect(server.requests[3].body.messages).toEqual([
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Who am I?' },
    ]);
    await page.locator('[data-testid="thread"]').nth(1).waitFor();
    const order = await page.$$eval('[data-testid="thread"]', (els) => els.map((e) => e.querySelector('.thread-title')?.textContent));
    expect(order).toEqual(['Who am I?', 'My name is Ada.']);

    // Selecting the first conversation shows its runs and results again.
    await page.locator(`${thread(threadId)} .thread-open`).click();
    await result(third).waitFor();
    await expect(page.locator('#conversation [data-testid="run"]').count()).resolves.toBe(3);
  });

  it('deletes a conversation only once the user confirms, and the server forgets it', async () => {
    const [threadId] = await page.$$eval('[data-testid="thread"]', (els) => els.map((e) => e.getAttribute('data-thread-id')!).slice(1));
    const remove = page.locator(`${thread(threadId)} [data-testid="delete-thread"]`);
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.dismiss();
    });
    await remove.click();
    await expect(page.locator(thread(threadId)).count()).resolves.toBe(1);
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.accept();
    });
    await remove.click();
    await page.locator(thread(threadId)).waitFor({ state: 'detached' });
    expect(dialogs).toEqual(['confirm', 'confirm']);
    // It was the open conversation: the page starts a new one.
    await expect(page.locator('#conversation [data-testid="run"]').count()).resolves.toBe(0);
    const auth = { Authorization: `Bearer ${await page.evaluate(() => sessionStorage.getItem('agent-pipeline.token'))}` };
    const listed = await (await fetch(`${t.url}/threads`, { headers: auth })).json();
    expect(listed.threads.map((x: { title: string }) => x.title)).toEqual(['Who am I?']);
    expect((await fetch(`${t.url}/threads/${threadId}`, { headers: auth })).status).toBe(404);
  });
});
