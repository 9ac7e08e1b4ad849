import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, describeInBrowser, eventTypes, run, send, signIn } from './support/chat-browser';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The chat page builds inputs from the agents' schemas, and follows every run of its user
 * wherever it was started: another tab, or the HTTP API.
 */
describeInBrowser('chat page in Chromium: inputs from schemas, runs from everywhere', () => {
  let t: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // JWT_SECRET '' = development auth: the page signs in by user name through POST /auth/dev-token.
    t = await startTestApp({ JWT_SECRET: '' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

  async function tab(user: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
    await signIn(page, t.url, user);
    return page;
  }

  /** A development token of `user`, for calls of the HTTP API beside the page. */
  async function tokenOf(user: string): Promise<string> {
    const res = await fetch(`${t.url}/auth/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: user }),
    });
    return ((await res.json()) as { token: string }).token;
  }

  const http = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as any;
  };

  const result = (page: Page, runId: string, where = '#conversation') =>
    page.locator(`${where} ${run(runId)}[data-status="completed"] [data-testid="run-result"]`);

  it('sends plain text into the one required string property: calculator with (2+3)*7 gives 35', async () => {
    const page = await tab('gina');
    await page.getByTestId('agent-select').selectOption('calculator');
    expect(await page.getByTestId('input-form').isHidden()).toBe(true);
    const runId = await send(page, 'calculator', '(2+3)*7');
    await result(page, runId).waitFor();
    expect((await result(page, runId).textContent())?.trim()).toBe('Result: 35');
    expect(await eventTypes(page, run(runId))).toEqual([
      'agent_started',
      'agent_thinking',
      'tool_executing',
      'tool_completed',
      'agent_completed',
    ]);
    expect(await page.locator(`${run(runId)} [data-type="tool_executing"]`).textContent()).toContain('(2+3)*7');
    // echo takes its text the same way, and a JSON object typed in is still sent as it is.
    const echoed = await send(page, 'echo', 'plain words');
    expect(await result(page, echoed).textContent()).toContain('plain words');
    const typed = await send(page, 'calculator', '{"expression": "6 / 4"}');
    expect(await result(page, typed).textContent()).toContain('1.5');
    await page.close();
  });

  it('builds a form for an agent with several properties: countdown with steps and intervalMs', async () => {
    const page = await tab('gina');
    await page.getByTestId('agent-select').selectOption('countdown');
    const form = page.getByTestId('input-form');
    await form.waitFor();
    const fields = form.locator('[data-testid="input-field"]');
    expect(await fields.evaluateAll((els) => els.map((e) => e.getAttribute('data-field')))).toEqual(['steps', 'intervalMs']);
    // Labels from the property names, number inputs with the schema's ranges, and a hint of each range.
    const steps = form.locator('[data-field="steps"] input');
    expect(await form.locator('[data-field="steps"] label').textContent()).toContain('steps');
    expect(await steps.getAttribute('type')).toBe('number');
    expect([await steps.getAttribute('min'), await steps.getAttribute('max'), await steps.getAttribute('step')]).toEqual([
      '1',
      '10000',
      '1',
    ]);
    const interval = await form.locator('[data-testid="input-field"][data-field="intervalMs"]').textContent();
    // The property's description, and the range from the schema.
    expect(interval).toContain('The wait before each step, in milliseconds.');
    expect(interval).toContain('0–60000');

    // A missing field is said next to it, and nothing is sent.
    await steps.fill('3');
    await page.getByTestId('send').click();
    const intervalError = form.locator('[data-field="intervalMs"] [data-testid="field-error"]');
    await intervalError.waitFor();
    expect(await intervalError.textContent()).toBe('intervalMs is required');
    expect(await page.locator('#conversation [data-testid="run"]').count()).toBe(0);

    // Out of range: the server's VALIDATION_FAILED is shown next to the field it names.
    await form.locator('[data-field="intervalMs"] input').fill('70000');
    await page.getByTestId('send').click();
    await page.locator('[data-testid="run-refused"]').waitFor();
    await intervalError.filter({ hasText: '60000' }).waitFor();
    expect(await form.locator('[data-field="steps"] [data-testid="field-error"]').isHidden()).toBe(true);

    await form.locator('[data-field="intervalMs"] input').fill('5');
    await page.getByTestId('send').click();
    const ran = page.locator('#conversation [data-testid="run"]').first();
    await ran.waitFor();
    const runId = (await ran.getAttribute('data-run-id'))!;
    await result(page, runId).waitFor();
    expect((await result(page, runId).textContent())?.trim()).toBe('Result: 3');
    expect(await page.locator(`${run(runId)} .user-input`).textContent()).toContain('"intervalMs": 5');
    // The form is emptied once the run is accepted.
    expect(await steps.inputValue()).toBe('');
    await page.close();
  });

  it('shows a run started in another tab within a second, takes its question there, and the first tab sees the answer', async () => {
    const first = await tab('hal');
    const second = await tab('hal');
    const runId = await send(first, 'approval', 'ship it');
    // Text went into the approval agent's one required string property.
    await first.locator(`${run(runId)} [data-testid="interrupt"]`, { hasText: 'Approve: ship it?' }).waitFor();

    // The second tab is on another conversation: the run is shown among the past runs, and its
    // thread in the conversation list says it waits for an answer.
    const elsewhere = second.locator(
      `[data-testid="history"] ${run(runId)}[data-status="waiting"] [data-testid="interrupt"][data-status="pending"]`,
    );
    await elsewhere.waitFor({ timeout: 1_000 });
    const { threadId } = await http(await tokenOf('hal'), 'GET', `/runs/${runId}`);
    const listed = second.locator(`[data-testid="thread"][data-thread-id="${threadId}"]`);
    await listed.locator('[data-testid="thread-activity"]', { hasText: 'waiting for your answer' }).waitFor({ timeout: 1_000 });
    expect(await listed.getAttribute('data-activity')).toBe('waiting');

    // Opening that conversation in the second tab shows the question there; it is answered there.
    await listed.locator('.thread-open').click();
    const question = second.locator(`#conversation ${run(runId)} [data-testid="interrupt"][data-status="pending"]`);
    await question.waitFor();
    await question.locator('[data-testid="approve"]').click();
    await result(second, runId).filter({ hasText: 'performed ship it' }).waitFor();

    // The first tab shows the answer and the result, and neither list says the thread is busy any more.
    await first.locator(`#conversation ${run(runId)}[data-status="completed"] [data-testid="interrupt"][data-status="approved"]`).waitFor();
    expect(await result(first, runId).textContent()).toContain('performed ship it');
    for (const page of [first, second]) {
      await page.locator(`[data-testid="thread"][data-thread-id="${threadId}"]:not([data-activity])`).waitFor();
    }

    // Both tabs on the same conversation now: a run sent in one appears live in the other's conversation.
    const next = await send(second, 'countdown', '{"steps": 20, "intervalMs": 25}');
    const live = first.locator(`#conversation ${run(next)}[data-status="running"]`);
    await live.waitFor({ timeout: 1_000 });
    await result(first, next).waitFor();
    const seqs = await first.$$eval(`#conversation ${run(next)} [data-testid="event"]`, (els) =>
      els.map((e) => Number(e.getAttribute('data-seq'))),
    );
    expect(seqs).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    // Once each: the tab that sent it shows it once too.
    expect(await second.locator(`#conversation ${run(next)}`).count()).toBe(1);
    await first.close();
    await second.close();
  });

  it('shows runs started over the HTTP API: in the open conversation when on its thread, in the lists otherwise', async () => {
    const page = await tab('ivy');
    const token = await tokenOf('ivy');
    const mine = await send(page, 'echo', 'open conversation');
    await result(page, mine).waitFor();
    const { threadId } = await http(token, 'GET', `/runs/${mine}`);

    const onThread = await http(token, 'POST', '/runs', { agent: 'echo', input: { text: 'from HTTP' }, threadId });
    const appeared = page.locator(`#conversation ${run(onThread.runId)}`);
    await appeared.waitFor({ timeout: 1_000 });
    await result(page, onThread.runId).filter({ hasText: 'from HTTP' }).waitFor();
    expect(await appeared.locator('.user-input').textContent()).toBe('from HTTP');

    // Another thread: a waiting question shows among the past runs and as a new conversation that waits.
    const other = await http(token, 'POST', '/runs', {
      agent: 'approval',
      input: { action: 'call from HTTP' },
      threadId: 'ivy-http-thread',
    });
    await page
      .locator(`[data-testid="history"] ${run(other.runId)} [data-testid="interrupt"][data-status="pending"]`)
      .waitFor({ timeout: 1_000 });
    const thread = page.locator('[data-testid="thread"][data-thread-id="ivy-http-thread"]');
    await thread.locator('[data-testid="thread-activity"]', { hasText: 'waiting for your answer' }).waitFor();
    expect(await page.locator(`#conversation ${run(other.runId)}`).count()).toBe(0);

    // Answered over HTTP too: the page follows it to the end.
    const question = await http(token, 'GET', `/runs/${other.runId}`);
    await http(token, 'POST', `/runs/${other.runId}/interrupts/${question.interrupt.interruptId}`, { approved: false });
    await page
      .locator(`[data-testid="history"] ${run(other.runId)}[data-status="completed"] [data-testid="interrupt"][data-status="denied"]`)
      .waitFor();
    await page.locator('[data-testid="thread"][data-thread-id="ivy-http-thread"]:not([data-activity])').waitFor();
    await page.close();
  });
});
