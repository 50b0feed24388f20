import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../appliance/util/exec.js';
import { parseEnvelope, isFault, readFault } from '../../appliance/vehicle/soap.js';
import { parseFaultDetail, parseResponse } from '../../appliance/vehicle/codec.js';
import { demoPlate, demoVin, DEMO_CASES } from '../../appliance/vehicle/demo-seed.js';
import type { SearchResult, VehicleQuery } from '../../appliance/vehicle/data-set.js';
import { VEHICLE_DOCS_DIR } from '../../appliance/vehicle/listener.js';
import { handleVehicleRequest } from '../../appliance/vehicle/service.js';
import { ReplayMemory } from '../../appliance/vehicle/journal.js';
import type { VehicleRegister } from '../../appliance/vehicle/register.js';
import { startAppliance, requestBody, signedAs, writeTemp, type Appliance } from './harness.js';
import type { TestIdentity } from './support.js';

let ro: Appliance;
let de: TestIdentity;

before(async () => {
  ro = await startAppliance({ partners: [{ code: 'DE', authorised: ['vin-search', 'plate-search'] }], vehicle: { listen: { host: '127.0.0.1', port: 0 } } });
  de = ro.partners.DE as TestIdentity;
});
after(async () => {
  await ro?.close();
});

async function search(query: VehicleQuery, version: '1.0' | '1.1' = '1.1', organisation?: string): Promise<{ result: SearchResult; xml: string; version: string }> {
  const a = await ro.channel.handle(await signedAs(de, requestBody('DE', 'RO', query, { version, ...(organisation ? { organisation } : {}) })), { remote: '127.0.0.1' });
  const env = parseEnvelope(a.xml);
  assert.ok(env.ok);
  if (isFault(env.value.payload)) {
    const f = readFault(env.value.payload);
    const d = f.detail ? parseFaultDetail(f.detail) : null;
    assert.fail(`fault ${d?.ok ? d.value.code : f.faultstring}`);
  }
  const r = parseResponse(env.value.payload);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return { result: r.value.result, xml: a.xml, version: r.value.schemaVersion };
}

function full(r: SearchResult) {
  assert.equal(r.kind, 'full');
  if (r.kind !== 'full') throw new Error('unreachable');
  return r.dataSet;
}

test('by VIN: one match gives the full data set (holder, owner, vehicle, insurance) with names in Greek intact', async () => {
  const d = full((await search({ kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin) })).result);
  assert.equal(d.vehicle.licenceNumber, demoPlate('RO', DEMO_CASES.history.currentPlate));
  assert.equal(d.vehicle.countryOfRegistration, 'RO');
  assert.equal(d.vehicle.make, 'Dacia');
  assert.equal(d.vehicle.euCategory, 'M1');
  assert.equal(d.vehicle.firstRegistrationDate, '2018-01-10');
  assert.equal(d.vehicle.registrationStart, DEMO_CASES.history.changedOn);
  assert.equal(d.vehicle.status.code, 'registered');
  assert.equal(d.dataIsCurrent, false);
  assert.equal(d.holders.length, 1);
  assert.equal(d.holders[0]?.name.surname, 'Παπαδοπούλου');
  assert.equal(d.holders[0]?.firstName?.firstNames, 'Ελένη');
  assert.equal(d.holders[0]?.address.placeOfResidence, 'Θεσσαλονίκη');
  assert.equal(d.holders[0]?.legalEntity, 'individual');
  assert.ok(d.holders[0]?.dateOfBirth && d.holders[0].gender === 'female');
  assert.equal(d.owners.length, 1);
  assert.equal(d.owners[0]?.legalEntity, 'company');
  assert.equal(d.owners[0]?.name.surname, 'Leasing Ștefan & Fiii SRL');
  assert.equal(d.insurances.length, 1);
  assert.equal(d.insurances[0]?.companyName, 'HUK-COBURG');
  assert.ok(d.holders[0]?.identification, 'schema 1.1 carries the identification group');
});

test('by VIN at a past reference date-time: the registration then (old plate, previous holder with diacritics)', async () => {
  const d = full((await search({ kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin), referenceDateTime: '2020-06-01T12:00:00.000Z' })).result);
  assert.equal(d.vehicle.licenceNumber, demoPlate('RO', DEMO_CASES.history.oldPlate));
  assert.equal(d.vehicle.registrationEnd, DEMO_CASES.history.changedOn);
  assert.equal(d.holders[0]?.name.surname, 'Ștefănescu');
  assert.equal(d.holders[0]?.firstName?.firstNames, 'Ioana-Mădălina');
  assert.equal(d.owners.length, 0);
  assert.equal(d.dataIsCurrent, false);
});

test('by plate: the plate now, the old plate at a past date, the old plate now (no match), spaces and case do not matter', async () => {
  assert.equal(full((await search({ kind: 'plate', licenceNumber: demoPlate('RO', DEMO_CASES.history.currentPlate) })).result).vehicle.vin, demoVin('RO', DEMO_CASES.history.vin));
  const old = demoPlate('RO', DEMO_CASES.history.oldPlate);
  assert.equal(full((await search({ kind: 'plate', licenceNumber: old, referenceDateTime: '2019-01-01T00:00:00Z' })).result).vehicle.vin, demoVin('RO', DEMO_CASES.history.vin));
  assert.equal((await search({ kind: 'plate', licenceNumber: old })).result.kind, 'no-match');
  assert.equal(full((await search({ kind: 'plate', licenceNumber: old.replace(/ /g, '').toLowerCase(), referenceDateTime: '2019-01-01T00:00:00+02:00' })).result).vehicle.make, 'Dacia');
  assert.equal((await search({ kind: 'vin', vin: demoVin('RO', 999_999) })).result.kind, 'no-match');
});

test('several matches give the refine-search set; the plate with the VIN narrows it to the full set', async () => {
  const plate = demoPlate('RO', DEMO_CASES.sharedPlate.plate);
  const r = (await search({ kind: 'plate', licenceNumber: plate })).result;
  assert.equal(r.kind, 'refine');
  if (r.kind !== 'refine') return;
  assert.deepEqual(r.vehicles.map((v) => v.vin).sort(), DEMO_CASES.sharedPlate.vins.map((n) => demoVin('RO', n)).sort());
  for (const v of r.vehicles) assert.deepEqual(Object.keys(v).sort(), ['commercialType', 'countryOfRegistration', 'euCategory', 'licenceNumber', 'make', 'vin']);
  const narrowed = full((await search({ kind: 'plate', licenceNumber: plate, vin: demoVin('RO', DEMO_CASES.sharedPlate.vins[1]) })).result);
  assert.equal(narrowed.vehicle.make, 'Ford');
  assert.equal(narrowed.vehicle.licenceNumberType, 'trade');
});

test('history not available: a past reference date-time gets the current data, flagged as current (Cyrillic names intact)', async () => {
  const d = full((await search({ kind: 'vin', vin: demoVin('RO', DEMO_CASES.noHistory.vin), referenceDateTime: '2015-01-01T00:00:00Z' })).result);
  assert.equal(d.dataIsCurrent, true);
  assert.equal(d.vehicle.licenceNumber, demoPlate('RO', DEMO_CASES.noHistory.plate));
  assert.equal(d.holders[0]?.name.surname, 'Иванов');
  assert.equal(d.holders[0]?.address.placeOfResidence, 'София');
  // Without a reference date-time the same data are simply current, not flagged.
  assert.equal(full((await search({ kind: 'vin', vin: demoVin('RO', DEMO_CASES.noHistory.vin) })).result).dataIsCurrent, false);
});

function payloadXml(soap: string): string {
  const m = /<v:VehicleSearchResponse[\s\S]*<\/v:VehicleSearchResponse>/.exec(soap);
  assert.ok(m, 'a response element');
  return `<?xml version="1.0" encoding="UTF-8"?>${m[0]}`;
}

test('an older partner gets answers in its version: 1.0 without the identification group; each validates with xmllint against its XSD', async () => {
  const q: VehicleQuery = { kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin) };
  const v10 = await search(q, '1.0');
  const v11 = await search(q, '1.1');
  assert.equal(v10.version, '1.0');
  assert.equal(v11.version, '1.1');
  assert.equal(full(v10.result).holders[0]?.identification, undefined);
  assert.ok(full(v11.result).holders[0]?.identification);
  assert.doesNotMatch(v10.xml, /IdNumber/);
  assert.match(v11.xml, /IdNumber/);
  for (const [xml, version] of [[v10.xml, '1.0'], [v11.xml, '1.1']] as const) {
    const file = writeTemp(ro.dir, `answer-${version}.xml`, payloadXml(xml));
    const r = await run('xmllint', ['--noout', '--schema', join(VEHICLE_DOCS_DIR, `vrd-${version}.xsd`), file]);
    assert.equal(r.code, 0, r.stderr.toString());
  }
  // The 1.1 answer does not pass the 1.0 schema: the version matters.
  const file = writeTemp(ro.dir, 'answer-11-as-10.xml', payloadXml(v11.xml));
  assert.notEqual((await run('xmllint', ['--noout', '--schema', join(VEHICLE_DOCS_DIR, 'vrd-1.0.xsd'), file])).code, 0);
  // Refine-search and no-match answers validate too.
  for (const [name, q2] of [['refine', { kind: 'plate', licenceNumber: demoPlate('RO', DEMO_CASES.sharedPlate.plate) }], ['none', { kind: 'vin', vin: 'NOSUCHVIN' }]] as const) {
    const a = await search(q2 as VehicleQuery);
    const f = writeTemp(ro.dir, `answer-${name}.xml`, payloadXml(a.xml));
    assert.equal((await run('xmllint', ['--noout', '--schema', join(VEHICLE_DOCS_DIR, 'vrd-1.1.xsd'), f])).code, 0);
  }
});

test('UTF-8 through signing and verification: a Greek organisation in the request is recorded, names survive, and xmlsec1 verifies the answer', async () => {
  const a = await search({ kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin) }, '1.1', 'Ελληνική Αστυνομία — Τμήμα Οχημάτων');
  assert.equal(full(a.result).holders[0]?.name.surname, 'Παπαδοπούλου');
  const file = writeTemp(ro.dir, 'utf8-answer.xml', a.xml);
  const r = await run('xmlsec1', ['--verify', '--pubkey-cert-pem', ro.certificatePath, '--id-attr:Id', 'http://schemas.xmlsoap.org/soap/envelope/:Body', '--id-attr:Id', 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd:Timestamp', file]);
  assert.equal(r.code, 0, r.stderr.toString());
  const leaf = ro.db.prepare(`SELECT leaf FROM audit_entries WHERE channel = 'vrd' AND leaf LIKE '%Τμήμα Οχημάτων%'`).all();
  assert.ok(leaf.length >= 1, 'the searching body is recorded as sent');
});

test('the service on its HTTPS listener: ?wsdl names its own address, a signed POST is answered', async () => {
  const listening = await ro.channel.start();
  assert.ok(listening.url?.startsWith('https://127.0.0.1:'));
  const ca = readFileSync(join(ro.config.dataDir, 'tls', 'management-cert.pem'));
  const get = (path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${listening.url}${path}`, { method: body ? 'POST' : 'GET', ca, headers: body ? { 'Content-Type': 'text/xml; charset=utf-8' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const wsdl = await get('?wsdl');
  assert.equal(wsdl.status, 200);
  assert.match(wsdl.text, new RegExp(`location="${listening.url}"`));
  assert.match(wsdl.text, /schemaLocation="https:\/\/127\.0\.0\.1:\d+\/vehicle\?xsd=vrd-1\.1\.xsd"/);
  const xsd = await get('?xsd=vrd-1.0.xsd');
  assert.match(xsd.text, /message schema 1\.0/);
  const answer = await get('', await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', DEMO_CASES.stolen.vin) })));
  assert.equal(answer.status, 200);
  assert.match(answer.text, /<v:Code>stolen<\/v:Code>/);
});

test('a register that does not answer gives an explicit fault within the deadline, never a hang', async () => {
  // A national system that accepts the search and never answers (a stand-in behind the adapter interface).
  const stuck: VehicleRegister = { search: (_q, { signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))), close: () => {} };
  const deadlineMs = 1_500;
  const started = Date.now();
  const a = await handleVehicleRequest(
    { ourState: 'RO', agency: 'NCP', signer: ro.channel.signer, partners: ro.channel.partners, register: stuck, replay: new ReplayMemory(ro.db), journal: ro.channel.journal, deadlineMs, timestampWindowSeconds: 300, clockSkewSeconds: 60 },
    await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', 1) })),
    { remote: '127.0.0.1' },
  );
  const took = Date.now() - started;
  const env = parseEnvelope(a.xml);
  assert.ok(env.ok && isFault(env.value.payload));
  const f = readFault(env.value.payload);
  const d = f.detail ? parseFaultDetail(f.detail) : null;
  assert.ok(d?.ok);
  assert.equal(d.value.code, 'VRD-REGISTER-TIMEOUT');
  assert.equal(f.faultcode, 'soap:Server');
  assert.ok(took >= deadlineMs - 600, `waited for the register (${took} ms) before giving up`);
  // A register that fails outright is a different fault.
  const down: VehicleRegister = { search: async () => { throw new Error('connection refused'); }, close: () => {} };
  const b = await handleVehicleRequest(
    { ourState: 'RO', agency: 'NCP', signer: ro.channel.signer, partners: ro.channel.partners, register: down, replay: new ReplayMemory(ro.db), journal: ro.channel.journal, deadlineMs, timestampWindowSeconds: 300, clockSkewSeconds: 60 },
    await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', 1) })),
    { remote: '127.0.0.1' },
  );
  assert.match(b.xml, /VRD-REGISTER-UNAVAILABLE/);
});
