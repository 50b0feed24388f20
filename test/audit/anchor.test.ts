import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../../appliance/util/exec.js';
import { verifyCertificateChain } from '../../appliance/audit/verify-audit.mjs';

/**
 * The development audit certificate is a self-signed end-entity certificate (no keyCertSign):
 * the offline verifier must accept it as the anchor — trust comes from its fingerprint, compared
 * out of band — and still refuse a certificate that only claims to be self-signed.
 */
test('a self-signed end-entity audit certificate is an acceptable anchor; a forged "self-signed" one is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anchor-'));
  try {
    const subj = '/C=RO/O=Prüm gateway development/CN=RO NCP audit log';
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'a.key'), '-out', join(dir, 'a.pem'), '-days', '5', '-subj', subj,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation']);
    const own = new X509Certificate(readFileSync(join(dir, 'a.pem')));
    assert.equal(own.checkIssued(own), false, 'node refuses it as its own issuer without keyCertSign');
    assert.equal(verifyCertificateChain(own, []).ok, true);

    // Same subject and issuer names, but signed by a different key: not self-signed.
    await runOk('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'b.key'), '-out', join(dir, 'b.csr'), '-subj', subj]);
    await runOk('openssl', ['x509', '-req', '-in', join(dir, 'b.csr'), '-CA', join(dir, 'a.pem'), '-CAkey', join(dir, 'a.key'), '-CAcreateserial', '-out', join(dir, 'b.pem'), '-days', '5']);
    const forged = new X509Certificate(readFileSync(join(dir, 'b.pem')));
    assert.equal(forged.subject, forged.issuer);
    assert.equal(verifyCertificateChain(forged, []).ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
