/**
 * Inputs the fuzz campaign found, kept as plain tests: each must stay an error value of its parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Token } from '../../appliance/token/token.js';
import { decryptEnvelopedData } from '../../appliance/transport/smime/EnvelopedData.js';
import { runOk } from '../../appliance/util/exec.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken } from '../support/softhsm.js';
import { parseSignedData } from '../../appliance/transport/smime/SignedData.js';
import { SmimeError } from '../../appliance/transport/smime/errors.js';

test('a GeneralizedTime that is not a time (asn1js throws) is MALFORMED_CMS, not an exception of another kind', () => {
  // SEQUENCE { GeneralizedTime "zzzz" }: asn1js.fromBER throws "Wrong input string for conversion".
  const der = Buffer.from([0x30, 0x06, 0x18, 0x04, 0x7a, 0x7a, 0x7a, 0x7a]);
  assert.throws(() => parseSignedData(der), (e: unknown) => e instanceof SmimeError && e.code === 'MALFORMED_CMS');
  const utc = Buffer.from([0x30, 0x06, 0x17, 0x04, 0x7a, 0x7a, 0x7a, 0x7a]);
  assert.throws(() => parseSignedData(utc), (e: unknown) => e instanceof SmimeError && e.code === 'MALFORMED_CMS');
});

test('an RSAES-OAEP MGF1 hash parameter that is no AlgorithmIdentifier (pkijs throws) is MALFORMED_CMS', async () => {
  const tt = await createTestToken({ label: 'regress-ro' });
  const token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  try {
    const work = mkdtempSync(join(tt.dir, 'work-'));
    const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
    const recipient = certs.find((c) => c.label === 'ncp-decrypt')!.path;
    writeFileSync(join(work, 'p.xml'), '<PRUEMDNA/>');
    await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-in', 'p.xml', '-outform', 'DER', '-out', 'enc.der', '-recip', recipient,
      '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256'], { cwd: work });
    const good = readFileSync(join(work, 'enc.der'));
    assert.equal((await decryptEnvelopedData(good, token)).content.toString(), '<PRUEMDNA/>', 'the unmutated message opens');
    // In maskGenAlgorithm { mgf1, SEQUENCE { OID sha256 } }, turn the hash's OID into an INTEGER of the same length.
    const mgf1 = Buffer.from('06092a864886f70d010108', 'hex');
    const at = good.indexOf(mgf1);
    assert.ok(at > 0, 'openssl wrote an MGF1 parameter');
    const oid = good.indexOf(Buffer.from('0609608648016503040201', 'hex'), at + mgf1.length);
    assert.ok(oid > at);
    const bad = Buffer.from(good);
    bad[oid] = 0x02;
    await assert.rejects(decryptEnvelopedData(bad, token), (e: unknown) => e instanceof SmimeError && e.code === 'MALFORMED_CMS');
  } finally {
    await token.close();
    tt.cleanup();
  }
});
