import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium, headless, with nothing that talks to the outside (no updates, sync, QUIC).
 * The profile is fresh: playwright refuses --user-data-dir in `args` and instead gives every
 * launch() its own new temporary --user-data-dir, removed on close.
 */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
    },
  };
}

export const VIEWPORT = { width: 1280, height: 800 };

/**
 * A fresh browser context (own cookies, own localStorage) that records every request leaving
 * the box and every CSP violation, so a test can assert there were none.
 */
export async function openContext(browser: Browser, base: string): Promise<{ context: BrowserContext; page: Page; foreign: string[]; cspViolations: string[]; pageErrors: string[] }> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB', acceptDownloads: true });
  const page = await context.newPage();
  const foreign: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const origin = new URL(base).origin;
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { context, page, foreign, cspViolations, pageErrors };
}

/** Signs in on the console's sign-in form and waits for the navigation of a signed-in session. */
export async function signIn(page: Page, base: string, who: { readonly username: string; readonly password: string }): Promise<void> {
  await page.goto(base);
  await page.fill('input[name=username]', who.username);
  await page.fill('input[name=password]', who.password);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('nav.side');
}
