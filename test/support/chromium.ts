import { existsSync } from 'node:fs';

/** Debian's Chromium (`.ci/run` installs it); browser specs say they were skipped when it is absent. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether {@link CHROMIUM} is installed. */
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** Headless, and quiet: no background traffic that a test could mistake for the page's own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
