import type { Page } from 'playwright-core';
import { CHROMIUM, HAS_CHROMIUM } from './chromium';

export { CHROMIUM, CHROMIUM_ARGS } from './chromium';

/** `describe` when Chromium is installed, else a skipped `describe` that says why in its name. */
export function describeInBrowser(title: string, body: () => void): void {
  if (HAS_CHROMIUM) describe(title, body);
  else describe.skip(`${title} — SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`, body);
}

/** The selector of a run's view by its id. */
export const run = (runId: string) => `[data-testid="run"][data-run-id="${runId}"]`;

/** The types of a run's `event` elements, in page order. */
export function eventTypes(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(`${selector} [data-testid="event"]`, (els) => els.map((e) => e.getAttribute('data-type') ?? ''));
}

/** Sends a message from the composer with the mouse; resolves the new run's id once the server accepted it. */
export async function send(page: Page, agent: string, message: string): Promise<string> {
  const before = await page.locator('#conversation [data-testid="run"]').count();
  await page.getByTestId('agent-select').selectOption(agent);
  await page.getByTestId('message-input').fill(message);
  await page.getByTestId('send').click();
  const added = page.locator('#conversation [data-testid="run"]').nth(before);
  await added.waitFor();
  return (await added.getAttribute('data-run-id'))!;
}

export async function expectConnected(page: Page): Promise<void> {
  await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
  expect(await page.getByTestId('connection-status').textContent()).toBe('connected');
}

/** Opens the page and signs in by user name (development auth). */
export async function signIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('token-input').fill(user);
  await page.getByTestId('connect').click();
  await expectConnected(page);
}
