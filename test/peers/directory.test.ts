import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { parseConfig, resolvePaths, type GatewayConfig } from '../../appliance/config/config.js';
import { PeerDirectory, PeerDirectoryError } from '../../appliance/peers/directory.js';
import { runOk } from '../../appliance/util/exec.js';

let dir: string;

async function cert(name: string, bits = 2048): Promise<string> {
  await runOk('openssl', ['req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-subj', `/CN=${name}`, '-days', '30']);
  return `${name}.pem`;
}

function config(raw: Record<string, unknown>): GatewayConfig {
  const parsed = parseConfig(raw);
  if (!parsed.ok) throw parsed.error;
  return resolvePaths(parsed.config, dir);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-peers-'));
  await Promise.all([cert('de-sign'), cert('de-enc'), cert('el-both'), cert('uk-old', 1024), cert('stranger')]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  memberState: 'RO',
  peers: [
    { code: 'DE', certificates: { signing: 'de-sign.pem', encryption: 'de-enc.pem' }, dailyCapacity: 500 },
    { code: 'EL', name: 'Greece', certificates: { signing: 'el-both.pem' }, channels: { fp: { enabled: false } } },
    { code: 'UK', certificates: { signing: 'uk-old.pem' }, crypto: { allowLegacy: true, digest: 'sha1' }, channels: { dna: { address: 'prum@dna.example.gov.uk' } } },
  ],
};

test('builds peers with certificates, profile, channels and Annex addresses (EL, UK in lower case)', () => {
  const d = new PeerDirectory(config(base));
  assert.equal(d.ours, 'RO');
  assert.deepEqual(d.list().map((p) => p.code), ['DE', 'EL', 'UK']);
  const de = d.get('DE')!;
  assert.equal(de.signing!.subject, 'CN=de-sign');
  assert.equal(de.encryption!.subject, 'CN=de-enc');
  assert.equal(de.crypto.allowLegacy, false);
  assert.equal(de.crypto.keyTransport, 'rsa-pkcs1');
  assert.equal(de.dailyCapacity, 500);
  assert.equal(d.addressFor('DE', 'dna'), 'ncp@dna.pruem.de.eu-admin.net');
  assert.equal(d.addressFor('EL', 'dna'), 'ncp@dna.pruem.el.eu-admin.net');
  assert.equal(d.addressFor('EL', 'fp'), null, 'disabled channel');
  assert.equal(d.addressFor('UK', 'dna'), 'prum@dna.example.gov.uk');
  assert.equal(d.addressFor('UK', 'fp'), 'ncp@fp.pruem.uk.eu-admin.net');
  assert.equal(d.addressFor('FR', 'dna'), null, 'not a configured peer');
  assert.equal(d.ourAddress('fp'), 'ncp@fp.pruem.ro.eu-admin.net');
  // one certificate serves both uses
  assert.equal(d.get('EL')!.encryption!.fingerprintSha256, d.get('EL')!.signing!.fingerprintSha256);
  assert.equal(d.get('UK')!.signing!.keyBits, 1024);
});

test('stateForAddress / channelForAddress: Annex domains, display names, configured overrides, gr/gb aliases', () => {
  const d = new PeerDirectory(config(base));
  assert.equal(d.stateForAddress('ncp@dna.pruem.de.eu-admin.net'), 'DE');
  assert.equal(d.stateForAddress('NCP Germany <NCP@FP.PRUEM.DE.EU-ADMIN.NET>'), 'DE');
  assert.equal(d.channelForAddress('ncp@fp.pruem.de.eu-admin.net'), 'fp');
  assert.equal(d.stateForAddress('x@dna.pruem.el.eu-admin.net'), 'EL');
  assert.equal(d.stateForAddress('x@dna.pruem.gr.eu-admin.net'), 'EL');
  assert.equal(d.stateForAddress('x@dna.pruem.gb.eu-admin.net'), 'UK');
  assert.equal(d.stateForAddress('prum@dna.example.gov.uk'), 'UK');
  assert.equal(d.channelForAddress('prum@dna.example.gov.uk'), 'dna');
  assert.equal(d.stateForAddress('ncp@dna.pruem.ro.eu-admin.net'), 'RO');
  assert.equal(d.stateForAddress('ncp@dna.pruem.xx.eu-admin.net'), null);
  assert.equal(d.stateForAddress('someone@example.org'), null);
  assert.equal(d.stateForAddress('not an address'), null);
});

test('findBySigner pins the exact certificate; findBySignerId matches issuer+serial and key identifier', () => {
  const d = new PeerDirectory(config(base));
  const dePem = readFileSync(join(dir, 'de-sign.pem'), 'utf8');
  assert.equal(d.findBySigner(dePem)?.code, 'DE');
  assert.equal(d.findBySigner(readFileSync(join(dir, 'stranger.pem'), 'utf8')), null);
  // DE's encryption certificate is not a signing certificate for DE
  assert.equal(d.findBySigner(readFileSync(join(dir, 'de-enc.pem'), 'utf8')), null);
  const de = d.get('DE')!.signing!;
  const bySerial = d.findBySignerId(new pkijs.IssuerAndSerialNumber({ issuer: de.pkijs.issuer, serialNumber: de.pkijs.serialNumber }));
  assert.equal(bySerial?.peer.code, 'DE');
  assert.equal(d.findBySignerId({ subjectKeyIdentifier: de.subjectKeyIdentifier })?.peer.code, 'DE');
  assert.equal(d.findBySignerId({ subjectKeyIdentifier: Buffer.alloc(20) }), null);
});

test('problems name the peer and key: missing file, RSA-1024 without allowLegacy; tolerant mode keeps the rest', () => {
  writeFileSync(join(dir, 'garbage.pem'), 'nope');
  const bad = {
    memberState: 'RO',
    peers: [
      { code: 'DE', certificates: { signing: 'missing.pem' } },
      { code: 'FR', certificates: { signing: 'uk-old.pem' } },
      { code: 'IT', certificates: { signing: 'garbage.pem' } },
      { code: 'EL', certificates: { signing: 'el-both.pem' } },
    ],
  };
  assert.throws(
    () => new PeerDirectory(config(bad)),
    (e: unknown) =>
      e instanceof PeerDirectoryError &&
      e.problems.length === 3 &&
      /peers\.DE\.certificates\.signing: cannot load/.test(e.problems[0]!) &&
      /peers\.FR\.certificates\.signing: RSA-1024 key needs crypto\.allowLegacy/.test(e.problems[1]!) &&
      /peers\.IT/.test(e.problems[2]!),
  );
  const d = new PeerDirectory(config(bad), { tolerant: true });
  assert.equal(d.problems.length, 3);
  assert.equal(d.get('DE')!.signing, null);
  assert.equal(d.get('EL')!.signing!.subject, 'CN=el-both');
});
