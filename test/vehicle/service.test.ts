import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk } from '../../appliance/util/exec.js';
import { parseEnvelope, isFault, readFault, SOAP_NS, WSU_NS } from '../../appliance/vehicle/soap.js';
import { parseFaultDetail, parseResponse } from '../../appliance/vehicle/codec.js';
import { demoPlate, demoVin, DEMO_CASES } from '../../appliance/vehicle/demo-seed.js';
import type { VehicleSearchResponse } from '../../appliance/vehicle/data-set.js';
import { startAppliance, requestBody, signedAs, writeTemp, type Appliance } from './harness.js';
import type { TestIdentity } from './support.js';

const XMLSEC_IDS = ['--id-attr:Id', `${SOAP_NS}:Body`, '--id-attr:Id', `${WSU_NS}:Timestamp`];

let ro: Appliance;
let de: TestIdentity;
let at: TestIdentity;
let fr: TestIdentity;

before(async () => {
  ro = await startAppliance({
    partners: [
      { code: 'DE', authorised: ['vin-search', 'plate-search'] },
      { code: 'AT', authorised: ['vin-search'] },
      { code: 'FR', authorised: [] },
    ],
  });
  de = ro.partners.DE as TestIdentity;
  at = ro.partners.AT as TestIdentity;
  fr = ro.partners.FR as TestIdentity;
});
after(async () => {
  await ro?.close();
});

function answerOf(xml: string): { fault: { code: string; faultcode: string } | null; response: VehicleSearchResponse | null } {
  const env = parseEnvelope(xml);
  assert.ok(env.ok, 'the answer is a SOAP envelope');
  const payload = env.value.payload;
  if (isFault(payload)) {
    const f = readFault(payload);
    assert.ok(f.detail, 'a fault carries FaultDetail');
    const d = parseFaultDetail(f.detail);
    assert.ok(d.ok);
    return { fault: { code: d.value.code, faultcode: f.faultcode }, response: null };
  }
  const r = parseResponse(payload);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return { fault: null, response: r.value };
}

async function ask(xml: string) {
  const a = await ro.channel.handle(xml, { remote: '127.0.0.1' });
  return { ...a, ...answerOf(a.xml) };
}

/** xmlsec1 checks our answer's signature with our certificate (no code of ours on that side). */
async function xmlsecVerifies(xml: string, certPath: string): Promise<boolean> {
  const file = writeTemp(ro.dir, `answer-${Date.now()}.xml`, xml);
  const r = await run('xmlsec1', ['--verify', '--pubkey-cert-pem', certPath, ...XMLSEC_IDS, file]);
  return r.code === 0;
}

test('an answer signed by the appliance on its token verifies with xmlsec1 --verify; a tampered copy does not', async () => {
  const a = await ask(await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin) })));
  assert.equal(a.status, 200);
  assert.equal(a.fault, null);
  assert.equal(await xmlsecVerifies(a.xml, ro.certificatePath), true);
  const tampered = a.xml.replace('Dacia', 'Dacie');
  assert.notEqual(tampered, a.xml);
  assert.equal(await xmlsecVerifies(tampered, ro.certificatePath), false);
});

test('a request signed by xmlsec1 with a partner\'s key (no code of ours on that side) is accepted and answered', async () => {
  const now = new Date();
  const body = requestBody('DE', 'RO', { kind: 'plate', licenceNumber: demoPlate('RO', DEMO_CASES.stolen.plate) });
  const template =
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP_NS}" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="${WSU_NS}">` +
    `<soap:Header><wsse:Security soap:mustUnderstand="1"><wsu:Timestamp wsu:Id="TS-1"><wsu:Created>${now.toISOString()}</wsu:Created><wsu:Expires>${new Date(now.getTime() + 300_000).toISOString()}</wsu:Expires></wsu:Timestamp>` +
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    ['Body-1', 'TS-1']
      .map((id) => `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>`)
      .join('') +
    `</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></wsse:Security></soap:Header>` +
    `<soap:Body wsu:Id="Body-1">${body}</soap:Body></soap:Envelope>`;
  const tpl = writeTemp(ro.dir, 'template.xml', template);
  const out = join(ro.dir, 'xmlsec-signed.xml');
  await runOk('xmlsec1', ['--sign', '--privkey-pem', `${de.keyPath},${de.certPath}`, ...XMLSEC_IDS, '--output', out, tpl]);
  const a = await ask(readFileSync(out, 'utf8'));
  assert.equal(a.fault, null, JSON.stringify(a.fault));
  assert.equal(a.status, 200);
  assert.equal(a.response?.result.kind, 'full');
  if (a.response?.result.kind === 'full') assert.equal(a.response.result.dataSet.vehicle.status.code, 'stolen');
});

test('refusals carry their fault code: tampered body, expired timestamp, replay, unauthorised State, unsigned, unknown signer', async () => {
  const vin = { kind: 'vin' as const, vin: demoVin('RO', DEMO_CASES.history.vin) };
  // tampered: the Body changed after signing
  const signed = await signedAs(de, requestBody('DE', 'RO', vin));
  const tampered = await ask(signed.replace('test: stolen vehicle check', 'test: stolen vehicle check!'));
  assert.equal(tampered.fault?.code, 'VRD-SIGNATURE-INVALID');
  assert.equal(tampered.fault?.faultcode, 'soap:Client');
  assert.equal(tampered.status, 500);
  // expired: signed 20 minutes ago with a 5-minute lifetime
  const old = await ask(await signedAs(de, requestBody('DE', 'RO', vin), new Date(Date.now() - 20 * 60_000)));
  assert.equal(old.fault?.code, 'VRD-TIMESTAMP-EXPIRED');
  // replay: the same signed message twice
  const once = await signedAs(de, requestBody('DE', 'RO', vin));
  assert.equal((await ask(once)).fault, null);
  assert.equal((await ask(once)).fault?.code, 'VRD-REPLAY');
  // unauthorised: AT may search by VIN but not by plate; FR may do nothing
  assert.equal((await ask(await signedAs(at, requestBody('AT', 'RO', { kind: 'plate', licenceNumber: demoPlate('RO', 2) })))).fault?.code, 'VRD-NOT-AUTHORISED');
  assert.equal((await ask(await signedAs(at, requestBody('AT', 'RO', vin)))).fault, null);
  assert.equal((await ask(await signedAs(fr, requestBody('FR', 'RO', vin)))).fault?.code, 'VRD-NOT-AUTHORISED');
  // a partner claiming to be another State
  assert.equal((await ask(await signedAs(at, requestBody('DE', 'RO', vin)))).fault?.code, 'VRD-WRONG-SENDER');
  // unsigned
  const unsigned = signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
  assert.equal((await ask(unsigned)).fault?.code, 'VRD-SIGNATURE-MISSING');
  // a stranger's key
  const { makeIdentity } = await import('./support.js');
  const stranger = await makeIdentity('stranger');
  try {
    assert.equal((await ask(await signedAs(stranger, requestBody('DE', 'RO', vin)))).fault?.code, 'VRD-UNKNOWN-SENDER');
  } finally {
    stranger.cleanup();
  }
  // every fault is itself signed by us
  assert.equal(await xmlsecVerifies(tampered.xml, ro.certificatePath), true);
  // recorded: refusals from known partners in the Art. 30 log, the others in the security table
  const audited = ro.db.prepare(`SELECT count(*) AS n FROM audit_entries WHERE channel = 'vrd' AND leaf LIKE '%"result":"error"%'`).get() as { n: number };
  assert.ok(audited.n >= 2 * 5, `refusals in the audit log: ${audited.n}`);
  const codes = (ro.db.prepare("SELECT code FROM exchange_rejections WHERE channel = 'vrd'").all() as Array<{ code: string }>).map((r) => r.code);
  assert.ok(codes.includes('VRD-SIGNATURE-INVALID') && codes.includes('VRD-SIGNATURE-MISSING') && codes.includes('VRD-UNKNOWN-SENDER'), codes.join(','));
});
