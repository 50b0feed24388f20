/**
 * The console end to end, in Debian's headless chromium, against real gateway processes
 * (`pruem run`, as `pruem demo` starts them): RO under test, DE and AT as partner States, joined by
 * the relay stand-in. Writes a 1280×800 screenshot of each page to var/screenshots/ (git-ignored),
 * or, with PRUEM_SCREENSHOTS=docs, to docs/screenshots/ — the ones the documentation shows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { run } from '../../appliance/util/exec.js';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';
import { launchChromium, openContext, signIn } from './support/browser.js';

/** Where the screenshots go: only a deliberate run replaces the tracked ones the docs show. */
function screenshotFolder(setting: string | undefined): string {
  if (setting === undefined || setting === '') return '../../var/screenshots/';
  if (setting === 'docs') return '../../docs/screenshots/';
  throw new Error(`PRUEM_SCREENSHOTS=${setting}: the only value is "docs" (unset: var/screenshots/)`);
}

const SHOTS = fileURLToPath(new URL(screenshotFolder(process.env.PRUEM_SCREENSHOTS), import.meta.url));
const TECH = { username: 'tech', password: 'alpine-meadow-42', name: 'Ion Tehnicianu' };
const OPERATOR = { username: 'operator1', password: 'river-stone-7781' };
const AUDITOR = { username: 'auditor1', password: 'quiet-harbour-5520' };

let net: Gateways;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let base: string;
const foreign: string[] = [];
const csp: string[] = [];
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const ctx = await openContext(browser, base);
  ctx.page.on('close', () => {
    foreign.push(...ctx.foreign);
    csp.push(...ctx.cspViolations);
    pageErrors.push(...ctx.pageErrors);
  });
  return ctx.page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function go(page: Page, label: RegExp): Promise<void> {
  await page.click(`nav.side a >> text=${label.source}`);
  await page.waitForSelector('section.page h1');
}

/** What the API answers to a request made from the signed-in page itself (its cookies, its token). */
async function fromPage(page: Page, method: string, path: string, body?: unknown): Promise<number> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return res.status;
    },
    { method, path, body },
  );
}

async function linkOf(page: Page, state: string): Promise<string | null> {
  return page.getAttribute(`tr[data-peer=${state}][data-channel=dna]`, 'data-link');
}

async function depthOut(page: Page): Promise<number> {
  return Number((await page.getAttribute('tr[data-queue=dna-out]', 'data-depth')) ?? '-1');
}

/** The dashboard is polled once a second: a shorter interval would only load the shared cores. */
const EVERY_SECOND = 1000;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await run(process.execPath, [fileURLToPath(new URL('../../console/build.mjs', import.meta.url)), '--quiet']);
  net = await startGateways(['RO', 'DE', 'AT'], { relay: 'demo', provision: 'bare' });
  base = net.node('RO').url;
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  await net?.close();
});

test('first-run wizard: set-up code, Member State, network, token PIN, keys and CSRs, first account, live test', async () => {
  const page = await newPage();
  await page.goto(base);
  await page.waitForSelector('input[name=setup-code]');
  const code = net.setupCode('RO');
  assert.ok(code, 'the daemon logged a set-up code');
  await page.fill('input[name=setup-code]', 'WRONG-CODE-0000');
  await page.click('button[type=submit]');
  await page.waitForSelector('.error');
  await page.fill('input[name=setup-code]', code);
  await page.click('button[type=submit]');

  await page.waitForSelector('select[name=member-state]');
  assert.equal(await page.inputValue('select[name=member-state]'), 'RO');
  await page.click('button[type=submit]');

  await page.waitForSelector('input[name=net-relayHost]');
  assert.equal(await page.inputValue('input[name=net-relayHost]'), '127.0.0.1', 'the relay is prefilled');
  await page.click('button[type=submit]');

  await page.waitForSelector('input[name=pin]');
  const pin = net.tokenPin('RO');
  await page.fill('input[name=pin]', pin);
  await page.fill('input[name=pin2]', pin);
  await page.click('button[type=submit]');

  await page.waitForSelector('input[name=organization]');
  await page.fill('input[name=organization]', 'Poliția Română');
  await page.fill('input[name=common-name]', 'RO NCP');
  await page.click('button[type=submit]');

  await page.waitForSelector('input[name=username]');
  assert.equal(await page.locator('ul.csrs li').count(), 2, 'a signing and an audit-key CSR');
  await page.fill('input[name=username]', TECH.username);
  await page.fill('input[name=display-name]', TECH.name);
  await page.fill('input[name=password]', TECH.password);
  await page.fill('input[name=password2]', TECH.password);
  await page.click('button[type=submit]');

  await page.waitForSelector('select[name=test-target]');
  await page.selectOption('select[name=test-target]', 'DE:dna');
  await page.click('.test-message button.primary');
  await page.waitForSelector('[data-test-result]', { timeout: 30_000 });
  assert.equal(await page.getAttribute('[data-test-result]', 'data-test-result'), 'ok', await page.innerText('[data-test-result]'));
  await shot(page, 'first-run-wizard');
  await page.click('text=Go to the dashboard');
  await page.waitForSelector('nav.side');
  await page.close();
});

test('sign in per role; the technician creates the operator and auditor accounts', async () => {
  const page = await newPage();
  await page.goto(base);
  await page.waitForSelector('form.signin');
  await page.fill('input[name=username]', TECH.username);
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('form.signin .error');
  await shot(page, 'sign-in');
  await page.fill('input[name=password]', TECH.password);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('nav.side');
  await go(page, /Accounts/);
  for (const [who, role] of [
    [OPERATOR, 'operator'],
    [AUDITOR, 'auditor'],
  ] as const) {
    await page.fill('input[name=new-username]', who.username);
    await page.fill('input[name=new-displayName]', `${role} account`);
    await page.selectOption('select[name=new-role]', role);
    await page.fill('input[name=new-password]', who.password);
    await page.click('text=Create an account >> nth=-1');
    await page.waitForSelector(`tr[data-account=${who.username}]`);
  }
  await shot(page, 'accounts');
  const techNav = await page.locator('nav.side a').allInnerTexts();
  assert.deepEqual(techNav, ['Dashboard', 'Certificates & token', 'Health', 'Officers & statistics', 'Operations', 'Accounts']);
  await page.close();

  const op = await newPage();
  await signIn(op, base, OPERATOR);
  assert.deepEqual(await op.locator('nav.side a').allInnerTexts(), ['Dashboard', 'Certificates & token', 'Health', 'DNA hits to validate', 'Accounts']);
  // The DNA staff's page (issue 15): the validation list (empty on a new box) and the comparison agreements.
  await go(op, /DNA hits/);
  await op.waitForSelector('text=No hits here.');
  await op.waitForSelector('text=No comparison agreement is configured');
  await shot(op, 'dna-hits');
  await op.close();
  const au = await newPage();
  await signIn(au, base, AUDITOR);
  assert.deepEqual(await au.locator('nav.side a').allInnerTexts(), ['Dashboard', 'Certificates & token', 'Audit log', 'Officers & statistics', 'Operations', 'Accounts']);
  await au.close();
});

test('role restrictions are enforced by the API, not only hidden in the UI', async () => {
  const op = await newPage();
  await signIn(op, base, OPERATOR);
  assert.equal(await fromPage(op, 'GET', '/api/accounts'), 403);
  assert.equal(await fromPage(op, 'GET', '/api/audit/entries?from=2026-01-01&to=2027-01-01'), 403);
  assert.equal(await fromPage(op, 'POST', '/api/system/restart', { confirm: 'restart' }), 403);
  await op.close();
  const au = await newPage();
  await signIn(au, base, AUDITOR);
  assert.equal(await fromPage(au, 'PUT', '/api/config/relay', { relay: null }), 403);
  assert.equal(await fromPage(au, 'POST', '/api/certificates/csr', { usage: 'signing', commonName: 'x', organization: 'y', country: 'RO', newKey: false }), 403);
  assert.equal(await fromPage(au, 'GET', '/api/audit/entries?from=2026-01-01&to=2027-01-01'), 200);
  await au.close();
  const tech = await newPage();
  await signIn(tech, base, TECH);
  assert.equal(await fromPage(tech, 'GET', '/api/audit/entries?from=2026-01-01&to=2027-01-01'), 403, 'technicians do not read the audit log');
  assert.equal(await fromPage(tech, 'POST', '/api/audit/exports', { target: { kind: 'directory', path: '/tmp' }, from: '2026-01-01', to: '2027-01-01' }), 403);
  await tech.close();
});

test('dashboard: a link goes red when the peer stops and green when it returns; outbound queue depth rises and falls', async () => {
  const page = await newPage();
  await signIn(page, base, OPERATOR);
  await page.waitForSelector('tr[data-peer=DE][data-channel=dna]');
  await eventually(async () => (await linkOf(page, 'DE')) === 'up', 'DE link up after the wizard test message', 30_000, EVERY_SECOND);
  await shot(page, 'dashboard');

  await net.stop('DE');
  await net.ping('RO', 'DE', 3, 'dna');
  const rise = await eventually(async () => (await depthOut(page)) >= 3, 'outbound DNA queue holds the pings', 60_000, EVERY_SECOND);
  const red = await eventually(async () => (await linkOf(page, 'DE')) === 'down', 'DE link red', 240_000, EVERY_SECOND);
  assert.match(await page.innerText('tr[data-peer=DE][data-channel=dna]'), /451|refused|ECONNREFUSED|next hop/i, 'the last error is shown');
  await shot(page, 'dashboard-link-down');
  assert.equal(await linkOf(page, 'AT'), 'unknown', 'other links are not affected');

  await net.start('DE');
  const green = await eventually(async () => (await linkOf(page, 'DE')) === 'up', 'DE link green again', 400_000, EVERY_SECOND);
  const fall = await eventually(async () => (await depthOut(page)) === 0, 'outbound queue drained', 400_000, EVERY_SECOND);
  console.log(`# queue rose in ${rise} ms, link red after ${red} ms, green ${green} ms after restart, queue empty ${fall} ms later`);
  await page.close();
});

test('certificates: token state, expiry countdown, a CSR generated on the token', async () => {
  const page = await newPage();
  await signIn(page, base, TECH);
  await go(page, /Certificates/);
  await page.waitForSelector('tr[data-cert="own:ncp-sign"]');
  assert.equal(await page.getAttribute('[data-token-present]', 'data-token-present'), 'true');
  assert.match(await page.innerText('tr[data-cert="own:ncp-sign"]'), /in \d+ days/);
  await page.selectOption('select[name=usage]', 'audit');
  await page.fill('input[name=commonName]', 'RO NCP audit 2027');
  await page.fill('input[name=organization]', 'Poliția Română');
  await page.fill('input[name=country]', 'RO');
  await page.click('.csr-form button[type=submit]');
  await page.waitForSelector('textarea[name=csr-pem]');
  assert.match(await page.inputValue('textarea[name=csr-pem]'), /^-----BEGIN CERTIFICATE REQUEST-----/);
  await shot(page, 'certificates');
  await page.close();
});

test('health: CPU, memory, disk, temperatures (not available in this VM), interfaces', async () => {
  const page = await newPage();
  await signIn(page, base, TECH);
  await go(page, /Health/);
  await page.waitForSelector('[data-metric=cpu]');
  assert.equal(await page.getAttribute('[data-metric=temperature]', 'data-level'), 'unavailable');
  assert.match(await page.innerText('[data-metric=temperature]'), /not available/);
  assert.ok((await page.locator('[data-metric^="disk:"]').count()) >= 1);
  await shot(page, 'health');
  await page.close();
});

test('officers and statistics; operations with revisions and their diff', async () => {
  const page = await newPage();
  await signIn(page, base, TECH);
  await go(page, /Officers/);
  await page.fill('input[name=officer-id]', 'RO-IGPR-0042');
  await page.fill('input[name=officer-name]', 'Maria Ionescu');
  await page.fill('input[name=officer-agency]', 'IGPR – Serviciul Prüm');
  await page.check('input[name=channel-fp]');
  await page.click('text=Save officer');
  await page.waitForSelector('tr[data-officer="RO-IGPR-0042"]');
  await shot(page, 'officers-statistics');

  await go(page, /Operations/);
  await page.waitForSelector('tr[data-revision]');
  const before = await page.locator('tr[data-revision]').count();
  // A click, not uncheck(): the box is controlled and shows the saved configuration until the API answers.
  await page.click('input[name=peer-AT-fp]');
  await page.waitForSelector(`tr[data-revision="${before + 1}"]`);
  await page.click(`tr[data-revision="${before + 1}"]`);
  await page.waitForSelector(`[data-diff="${before + 1}"]`);
  const diff = await page.innerText(`[data-diff="${before + 1}"]`);
  assert.match(diff, /peers\[AT\]\.channels\.fp/);
  assert.match(await page.innerText(`tr[data-revision="${before + 1}"]`), new RegExp(TECH.username));
  await shot(page, 'operations');
  await page.close();
});

test('audit: an auditor searches, runs an export and sees it verified', async () => {
  const page = await newPage();
  await signIn(page, base, AUDITOR);
  await go(page, /Audit log/);
  await page.waitForSelector('table.audit tbody tr');
  assert.ok((await page.locator('table.audit tbody tr').count()) > 0, 'the console actions are in the log');
  await page.click('text=Start the export wizard');
  await page.check('input[name=target] >> nth=1');
  // Below the configured export roots (audit.exportRoots, default <dataDir>/exports): other folders are refused.
  const exportDir = join(net.node('RO').dataDir, 'exports');
  mkdirSync(exportDir, { recursive: true });
  await page.fill('input[name=export-path]', exportDir);
  await page.click('.wizard button.primary');
  await page.click('.wizard button.primary');
  await page.click('.wizard button.primary');
  await page.waitForSelector('[data-verified]', { timeout: 120_000 });
  await page.locator('.export-job').scrollIntoViewIfNeeded();
  await shot(page, 'audit');
  assert.equal(await page.getAttribute('[data-verified]', 'data-verified'), 'true', await page.innerText('.export-job'));
  await page.close();
});

test('language: switched per user, remembered across sign-ins', async () => {
  const page = await newPage();
  await signIn(page, base, AUDITOR);
  await page.selectOption('header.top select[name=language]', 'ro');
  await page.waitForSelector('nav.side a >> text=Jurnal de audit');
  await page.reload();
  await page.waitForSelector('nav.side a >> text=Tablou de bord');
  await page.close();
  const other = await newPage();
  await signIn(other, base, AUDITOR);
  await other.waitForSelector('nav.side a >> text=Jurnal de audit');
  assert.equal(await other.getAttribute('html', 'lang'), 'ro');
  await other.waitForSelector('tr[data-peer=DE]');
  await shot(other, 'dashboard-ro');
  await other.close();
  const operator = await newPage();
  await signIn(operator, base, OPERATOR);
  assert.deepEqual((await operator.locator('nav.side a').allInnerTexts())[0], 'Dashboard', 'another user keeps English');
  await operator.close();
});

test('nothing was loaded from outside the box and the CSP was never violated', () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(csp, []);
  assert.deepEqual(pageErrors, []);
});
