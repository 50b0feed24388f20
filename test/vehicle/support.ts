/** Keys and certificates for vehicle tests: made by openssl in a temp folder, like a peer's would be. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../../appliance/util/exec.js';
import { keyXmlSigner, type XmlSigner } from '../../appliance/vehicle/ws-security.js';

export interface TestIdentity {
  readonly dir: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
  readonly signer: XmlSigner;
  cleanup(): void;
}

export async function makeIdentity(cn: string): Promise<TestIdentity> {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-vrd-id-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30', '-subj', `/CN=${cn}`]);
  const keyPem = readFileSync(keyPath, 'utf8');
  const certificate = new X509Certificate(readFileSync(certPath));
  return { dir, keyPath, certPath, keyPem, certificate, signer: keyXmlSigner(keyPem, certificate), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
