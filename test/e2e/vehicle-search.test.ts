/**
 * The officers' vehicle search page (issue 11 item 5) end to end, in Debian's headless chromium, against real
 * gateway processes as `pruem demo` provisions them (RO under test; DE and AT each with a vehicle service and a
 * demo register): the technician creates an officer account on the Accounts page; the officer signs in, lands
 * on the search page (the only one in the navigation), searches a VIN in all States, sees the consolidated
 * answer, opens DE's data set (Greek and Romanian names), switches to Romanian; another page's address and
 * the other APIs are refused. Then AT is stopped: its request is queued, shown in the technician's queue row
 * and the status API, and the officer's page shows AT's answer once AT is back.
 * Screenshots go to var/screenshots/ (or docs/screenshots/ with PRUEM_SCREENSHOTS=docs).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { run } from '../../appliance/util/exec.js';
import { demoOrderingOfficer } from '../../appliance/demo/network.js';
import { demoVin } from '../../appliance/vehicle/demo-seed.js';
import type { GatewayStatus } from '../../appliance/status/types.js';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';
import { launchChromium, openContext, signIn } from './support/browser.js';

const SHOTS = fileURLToPath(new URL(process.env.PRUEM_SCREENSHOTS === 'docs' ? '../../docs/screenshots/' : '../../var/screenshots/', import.meta.url));
const TECH = { username: 'tech', password: 'alpine-meadow-42' };
/** The demo's officer: on RO's list of authorised officers for the vehicle channel (`pruem demo` grants it). */
const OFFICER = { username: 'RO-OFFICER-1', password: 'blue-lorry-plate-77' };
const VIN = demoVin('DE', 1);

let net: Gateways;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let base: string;
const problems: string[] = [];

async function newPage(): Promise<Page> {
  const ctx = await openContext(browser, base);
  ctx.page.on('close', () => problems.push(...ctx.foreign, ...ctx.cspViolations, ...ctx.pageErrors));
  return ctx.page;
}

/** What the API answers to a request made from the signed-in page itself (its cookies, its CSRF token). */
async function fromPage(page: Page, method: string, path: string, body?: unknown): Promise<number> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
      const res = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return res.status;
    },
    { method, path, body },
  );
}

async function search(page: Page, vin: string, reference?: string): Promise<void> {
  await page.check('input[name=by][value=vin]');
  await page.fill('input[name=vin]', vin);
  await page.check('input[name=scope][value=all]');
  if (reference) await page.fill('input[name=reference]', reference);
  await page.fill('input[name=ordering-officer]', demoOrderingOfficer('RO'));
  await page.fill('textarea[name=reason]', 'Dosar 1234/P/2026: vehicul văzut la locul unui jaf');
  const before = await page.getAttribute('[data-search]', 'data-search').catch(() => null);
  await page.click('.vrd-form button[type=submit]');
  await page.waitForFunction((old) => {
    const el = document.querySelector('[data-search]');
    return el !== null && el.getAttribute('data-search') !== old;
  }, before, { timeout: 30_000 });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await run(process.execPath, [fileURLToPath(new URL('../../console/build.mjs', import.meta.url)), '--quiet']);
  net = await startGateways(['RO', 'DE', 'AT'], { relay: 'demo', provision: 'demo', syntheticProfiles: 20 });
  base = net.node('RO').url;
  ({ browser, close: closeBrowser } = await launchChromium());
  // The first-run wizard's account step (the wizard itself is driven in console.test.ts): the first technician.
  const page = await newPage();
  await page.goto(base);
  const code = net.setupCode('RO');
  assert.ok(code, 'the daemon logged a set-up code');
  // No named functions inside evaluate(): tsx would wrap them in a helper the page does not have.
  const status = await page.evaluate(
    async (steps) => {
      const out: string[] = [];
      for (const [method, path, body] of steps) {
        const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
        const res = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify(body) });
        out.push(String(res.status));
      }
      return out;
    },
    [
      ['POST', '/api/setup/unlock', { code }],
      ['PUT', '/api/setup/member-state', { memberState: 'RO' }],
      ['POST', '/api/setup/account', { username: TECH.username, displayName: 'Ion Tehnicianu', password: TECH.password }],
    ] as Array<[string, string, unknown]>,
  );
  assert.deepEqual(status, ['200', '200', '201']);
  await page.close();
});

after(async () => {
  await closeBrowser?.();
  await net?.close();
});

test('the technician creates an officer account on the Accounts page', async () => {
  const page = await newPage();
  await signIn(page, base, TECH);
  await page.click('nav.side a >> text=Accounts');
  await page.waitForSelector('input[name=new-username]');
  await page.fill('input[name=new-username]', OFFICER.username);
  await page.fill('input[name=new-displayName]', 'Maria Ionescu');
  await page.selectOption('select[name=new-role]', 'officer');
  await page.fill('input[name=new-password]', OFFICER.password);
  await page.click('text=Create an account >> nth=-1');
  await page.waitForSelector(`tr[data-account="${OFFICER.username}"]`);
  assert.equal(await page.inputValue(`select[name="role-${OFFICER.username}"]`), 'officer');
  assert.ok(!(await page.locator('nav.side a').allInnerTexts()).includes('Vehicle search'), 'technicians keep their pages and get no search');
  await page.close();
});

test('the officer lands on the search page, searches a VIN in all States, opens the answer, switches to Romanian', async () => {
  const page = await newPage();
  await signIn(page, base, OFFICER);
  await page.waitForSelector('section.page h1 >> text=Vehicle search');
  assert.equal(new URL(page.url()).pathname, '/vehicle-search');
  assert.deepEqual(await page.locator('nav.side a').allInnerTexts(), ['Vehicle search'], 'an officer sees only this page');
  assert.match(await page.innerText('section.page .help'), /audit log/);
  await search(page, VIN);
  await page.waitForSelector('tr[data-target-state=DE][data-result=full]');
  await page.waitForSelector('tr[data-target-state=AT][data-result=no-match]');
  assert.match(await page.innerText('[data-group=answered]'), /AT, DE/);
  assert.equal(await page.getAttribute('[data-search]', 'data-complete'), 'true');
  await page.click('tr[data-target-state=DE] button >> text=Open');
  await page.waitForSelector('[data-full-set=DE]');
  const dataSet = await page.innerText('[data-full-set=DE]');
  assert.match(dataSet, new RegExp(VIN));
  assert.match(dataSet, /Παπαδοπούλου/, 'a Greek holder name displays as sent');
  assert.match(dataSet, /Leasing Ștefan & Fiii SRL/, 'Romanian diacritics display as sent');
  assert.match(dataSet, /Dacia/);
  await page.locator('[data-full-set=DE]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, 'vehicle-search.png'), fullPage: true });

  await page.selectOption('header.top select[name=language]', 'ro');
  await page.waitForSelector('section.page h1 >> text=Căutare vehicul');
  assert.deepEqual(await page.locator('nav.side a').allInnerTexts(), ['Căutare vehicul']);
  assert.match(await page.innerText('section.page .help'), /jurnalul de audit/);
  await page.waitForSelector('th >> text=Rezultat');
  assert.match(await page.innerText('tr[data-target-state=DE]'), /vehicul găsit/);
  assert.match(await page.innerText('tr[data-target-state=AT]'), /nicio potrivire/);
  assert.match(await page.innerText('[data-full-set=DE]'), /Deținător/);
  await page.screenshot({ path: join(SHOTS, 'vehicle-search-ro.png'), fullPage: true });
  // Back to English for the next tests (the language is kept per user).
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/me/language'));
  await page.selectOption('header.top select[name=language]', 'en');
  await page.waitForSelector('section.page h1 >> text=Vehicle search');
  assert.equal((await saved).status(), 200);

  // Reading the answers back from the list of recent searches is recorded (Art. 30), as on the officers' API.
  const reads = () => net.query<{ n: number }>('RO', `SELECT count(*) AS n FROM audit_entries WHERE kind = 'admin' AND leaf LIKE '%result-read%' AND leaf LIKE ?`, `%${OFFICER.username}%`)[0]?.n ?? 0;
  const before = reads();
  await page.click('tr[data-recent] button >> text=Open');
  await eventually(() => reads() === before + 1, 'the read recorded', 10_000);
  const sent = net.query<{ officer_id: string; ordering_officer_id: string }>('RO', "SELECT officer_id, ordering_officer_id FROM audit_entries WHERE channel = 'vrd' AND officer_id IS NOT NULL");
  assert.deepEqual([...new Set(sent.map((r) => `${r.officer_id}/${r.ordering_officer_id}`))], [`${OFFICER.username}/${demoOrderingOfficer('RO')}`], 'the account is the officer of record');
  await page.close();
});

test('a plate shared by two vehicles: the refine-search set, refined by one VIN; current data flagged where no history is kept', async () => {
  const page = await newPage();
  await signIn(page, base, OFFICER);
  await page.check('input[name=by][value=plate]');
  await page.fill('input[name=plate]', 'M PR 1004');
  await page.selectOption('select[name=state]', 'DE');
  await page.fill('input[name=ordering-officer]', demoOrderingOfficer('RO'));
  await page.fill('textarea[name=reason]', 'Dosar 1234/P/2026: număr de înmatriculare văzut');
  await page.click('.vrd-form button[type=submit]');
  await page.waitForSelector('[data-refine=DE]');
  assert.equal(await page.locator('[data-refine=DE] tr[data-refine-vin]').count(), 2);
  const first = await page.locator('[data-search]').getAttribute('data-search');
  await page.click(`tr[data-refine-vin="${demoVin('DE', 4)}"] button`);
  assert.equal(await page.inputValue('input[name=vin]'), demoVin('DE', 4), 'the form is refined with the chosen VIN');
  await page.click('.vrd-form button[type=submit]');
  await page.waitForFunction((old) => document.querySelector('[data-search]')?.getAttribute('data-search') !== old, first);
  await page.waitForSelector('tr[data-target-state=DE][data-result=full]');
  // A past reference date-time for a vehicle whose State keeps no history: current data, said so.
  await page.check('input[name=by][value=vin]');
  await search(page, demoVin('DE', 2), '2024-01-01T12:00:00');
  await page.click('tr[data-target-state=DE] button >> text=Open');
  await page.waitForSelector('[data-full-set=DE][data-current=true] [data-data-is-current]');
  await page.close();
});

test('an officer opening another page or API is refused', async () => {
  const page = await newPage();
  await signIn(page, base, OFFICER);
  await page.goto(`${base}/dashboard`);
  await page.waitForSelector('[data-refused="/dashboard"]');
  assert.match(await page.innerText('[data-refused]'), /does not give access/);
  await page.goto(`${base}/accounts`);
  await page.waitForSelector('[data-refused="/accounts"]');
  assert.deepEqual(await page.locator('nav.side a').allInnerTexts(), ['Vehicle search']);
  for (const [method, path, body] of [
    ['GET', '/api/status'],
    ['GET', '/api/accounts'],
    ['GET', '/api/officers'],
    ['GET', '/api/audit/entries?from=2026-01-01&to=2027-01-01'],
    ['GET', '/api/dna/validations'],
    ['POST', '/api/system/restart', { confirm: 'restart' }],
  ] as Array<[string, string, unknown?]>) {
    assert.equal(await fromPage(page, method, path, body), 403, `${method} ${path}`);
  }
  assert.equal(await fromPage(page, 'GET', '/api/vrd/searches'), 200);
  await page.close();
});

test('AT unreachable: the request is queued, shown in the queue row and the status API, and answered on the page when AT is back', async () => {
  await net.stop('AT');
  const page = await newPage();
  await signIn(page, base, OFFICER);
  await search(page, VIN);
  await page.waitForSelector('tr[data-target-state=AT][data-status=queued]');
  await page.waitForSelector('tr[data-target-state=DE][data-result=full]');
  assert.equal(await page.getAttribute('[data-search]', 'data-complete'), 'false');
  assert.match(await page.innerText('[data-group=queued]'), /AT/);

  const status = (await (await fetch(`${base}/api/status`)).json()) as GatewayStatus;
  const rows = status.queues.filter((q) => q.channel === 'vrd' && q.direction === 'out');
  assert.equal(rows.length, 1, 'one queue row for the vehicle channel');
  const row = rows[0];
  assert.equal(row?.depth, 1, JSON.stringify(status.queues));
  assert.deepEqual(row?.waitingFor, ['AT']);
  assert.equal(status.services.find((s) => s.name === 'vehicle-queue')?.state, 'degraded');
  const tech = await newPage();
  await signIn(tech, base, TECH);
  await tech.waitForSelector('tr[data-queue=vrd-out][data-depth="1"]');
  assert.match(await tech.innerText('tr[data-queue=vrd-out]'), /Vehicles · waiting for AT/);
  await tech.locator('tr[data-queue=vrd-out]').scrollIntoViewIfNeeded();
  await tech.screenshot({ path: join(SHOTS, 'dashboard-vehicle-queue.png') });

  await net.start('AT');
  // Delivered by the queue loop (back-off of a few seconds), then picked up by the page's poll.
  await page.waitForSelector('tr[data-target-state=AT][data-result=no-match]', { timeout: 120_000 });
  assert.equal(await page.getAttribute('[data-search]', 'data-complete'), 'true');
  await tech.waitForSelector('tr[data-queue=vrd-out][data-depth="0"]', { timeout: 30_000 });
  await tech.close();
  await page.close();
});

test('nothing was loaded from outside the box, the CSP was never violated, no page error', () => {
  assert.deepEqual(problems, []);
});
