import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../appliance/config/config.js';
import { Token } from '../../appliance/token/token.js';
import { provisioningPort } from '../../appliance/api/wiring/index.js';
import { tokenOptionsFromConfig } from '../../provisioning/index.js';
import { readRecord } from '../../provisioning/state.js';
import { runOk } from '../../appliance/util/exec.js';
import { makeBox, makeCa, issue, initialFlags, pruem, type Box, type TestCa } from './support.js';

/** The console's wizard and Certificates page on a production box go through the same provisioning. */
let root: string;
let ca: TestCa;
let box: Box;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-console-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'EL');
  const r = await pruem(['provision', ...initialFlags(box)]);
  assert.equal(r.code, 0, r.out);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the console makes the decryption key\'s CSR and imports its certificate with the CA chain; a wrong one is refused clearly', async () => {
  const config = loadConfig(box.configPath);
  const token = await Token.open(tokenOptionsFromConfig(config));
  let provisioned = 0;
  try {
    const port = provisioningPort({ token, config: () => loadConfig(box.configPath), configPath: box.configPath, onProvisioned: () => provisioned++ });
    const csr = await port.generateCsr({ usage: 'encryption', commonName: 'ignored', organization: 'Hellenic Police', country: 'GR', newKey: false });
    assert.equal(csr.keyLabel, 'ncp-decrypt');
    const csrFile = join(root, 'dec.csr');
    writeFileSync(csrFile, csr.pem);
    const text = (await runOk('openssl', ['req', '-in', csrFile, '-noout', '-verify', '-text'])).toString();
    assert.match(text, /C\s*=\s*GR, O\s*=\s*Hellenic Police/);
    assert.match(text, /email:ncp@dna\.pruem\.el\.eu-admin\.net/, 'the Annex code el in the mail domain');
    assert.match(text, /Key Encipherment/);

    const cert = await issue(ca, csrFile, join(root, 'dec.pem'));
    const self = join(root, 'self');
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${self}.key`, '-out', `${self}.pem`, '-subj', '/CN=someone else', '-days', '5', '-addext', 'basicConstraints=critical,CA:FALSE']);
    await assert.rejects(port.importCertificate(readFileSync(`${self}.pem`, 'utf8')), (e: Error & { code?: string }) => e.code === 'CERTIFICATE_INVALID' && /CERT_MISMATCH: .*matches none of this appliance's keys/.test(e.message));
    const listed = await port.importCertificate(readFileSync(ca.cert, 'utf8') + readFileSync(cert, 'utf8'));
    assert.equal(listed.id, 'own:ncp-decrypt');
    assert.equal(listed.development, false);
    assert.equal(provisioned, 1);
    assert.ok(readRecord(box.dataDir)!.certificates['ncp-decrypt']);
  } finally {
    await token.close();
  }
});
