/**
 * S/MIME per-message cost with the keys on a SoftHSM2 token:
 *   gateway   — sealMessage (encrypt + sign on the token) and openMessage (verify + decrypt on the token), in process;
 *   baseline  — the `openssl cms` command line doing the same two steps, with the same token keys
 *               through the pkcs11 engine (one process per step, as a shell integration would run it).
 * Both are measured in the same run on the same token. Usage:
 *   node --import tsx test/bench/smime.ts [iterations=50] [cli-iterations=20]
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseConfig, resolvePaths } from '../../appliance/config/config.js';
import { PeerDirectory } from '../../appliance/peers/directory.js';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { buildMailMessage } from '../../appliance/transport/mail/message.js';
import { openMessage, sealMessage } from '../../appliance/transport/smime/index.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken } from '../support/softhsm.js';

const N = Number(process.argv[2] ?? 50);
const N_CLI = Number(process.argv[3] ?? 20);
const SIZES = [4 * 1024, 256 * 1024];

async function time(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op(i);
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

const ROUNDS = 5;

/**
 * The machine is shared: load moves by 2–3× within a minute. So gateway and CLI are measured in
 * alternating rounds and each reported figure is the median of its rounds.
 */
async function compare(gateway: () => Promise<unknown>, cli: () => Promise<unknown>): Promise<{ gw: number; cli: number }> {
  await gateway(); // warm-up: key lookup, JIT
  await cli();
  const gw: number[] = [];
  const cl: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    gw.push(await time(Math.max(1, Math.round(N / ROUNDS)), gateway));
    cl.push(await time(Math.max(1, Math.round(N_CLI / ROUNDS)), cli));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { gw: median(gw), cli: median(cl) };
}

async function main(): Promise<void> {
  const tt = await createTestToken({ label: 'bench' });
  const work = mkdtempSync(join(tt.dir, 'bench-'));
  const token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  try {
    const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
    const signCert = certs.find((c) => c.label === 'ncp-sign')!.path;
    const decryptCert = certs.find((c) => c.label === 'ncp-decrypt')!.path;
    const ossl = (args: string[]) => runOk('openssl', args, { cwd: work, env: { ...tt.env, PKCS11_MODULE_PATH: tt.module } });
    for (const n of ['de-sign', 'de-enc']) {
      await ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.pem`, '-subj', `/CN=${n}`, '-days', '30']);
    }
    const parsed = parseConfig({ memberState: 'RO', peers: [{ code: 'DE', certificates: { signing: 'de-sign.pem', encryption: 'de-enc.pem' } }] });
    if (!parsed.ok) throw parsed.error;
    const directory = new PeerDirectory(resolvePaths(parsed.config, work));
    const signPem = readFileSync(signCert, 'utf8');
    const deEnc = readFileSync(join(work, 'de-enc.pem'), 'utf8');
    const keyUri = (label: string) => `pkcs11:token=${tt.label};object=${label};type=private;pin-value=${tt.pin}`;
    const profile = { allowLegacy: false, keyTransport: 'rsa-pkcs1', digest: 'sha256' } as const;

    console.log(`S/MIME per message, SoftHSM2 token, RSA-2048, AES-256-CBC, SHA-256, PKCS#1 v1.5 key transport`);
    console.log(`node ${process.version}; in-process n=${N}, openssl CLI n=${N_CLI}, in ${ROUNDS} alternating rounds, median of rounds\n`);
    const rows: string[][] = [['payload', 'operation', 'gateway ms/op', 'openssl cms CLI ms/op', 'CLI / gateway']];
    for (const size of SIZES) {
      const payload = randomBytes(size);
      writeFileSync(join(work, 'payload.bin'), payload);

      // Outbound: encrypt for DE + sign on the token.
      const seal = await compare(
        () => sealMessage({ payload, payloadContentType: 'application/octet-stream', recipientCert: deEnc, profile, token, signerCert: signPem }),
        async () => {
          await ossl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'payload.bin', '-outform', 'DER', '-out', 'enc.der', 'de-enc.pem']);
          await ossl(['cms', '-sign', '-engine', 'pkcs11', '-keyform', 'engine', '-inkey', keyUri('ncp-sign'), '-signer', signCert, '-binary', '-nodetach',
            '-econtent_type', 'pkcs7-envelopedData', '-in', 'enc.der', '-outform', 'SMIME', '-out', 'out.smime']);
        },
      );

      // Inbound: DE's message (made once by openssl) verified against the directory, decrypted on the token.
      await ossl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'payload.bin', '-outform', 'DER', '-out', 'in-enc.der', decryptCert]);
      await ossl(['cms', '-sign', '-binary', '-nodetach', '-econtent_type', 'pkcs7-envelopedData', '-in', 'in-enc.der', '-signer', 'de-sign.pem', '-inkey', 'de-sign.key',
        '-outform', 'SMIME', '-out', 'in.smime']);
      const smime = readFileSync(join(work, 'in.smime'), 'latin1');
      const mail = Buffer.from(`From: ncp@dna.pruem.de.eu-admin.net\nTo: ncp@dna.pruem.ro.eu-admin.net\nSubject: DE/DNA\nMessage-ID: <1@de>\n${smime}`.replace(/\r?\n/g, '\r\n'), 'latin1');
      writeFileSync(join(work, 'in.eml'), mail);
      const check = await openMessage(mail, { directory, token, now: new Date(), maxBytes: 64 * 1024 * 1024 });
      if (!check.ok || !check.payload.equals(payload)) throw new Error(`benchmark input does not open: ${check.ok ? 'payload differs' : check.error.message}`);
      const open = await compare(
        () => openMessage(mail, { directory, token, now: new Date(), maxBytes: 64 * 1024 * 1024 }),
        async () => {
          await ossl(['cms', '-verify', '-in', 'in.eml', '-CAfile', 'de-sign.pem', '-binary', '-out', 'inner.der']);
          await ossl(['cms', '-decrypt', '-engine', 'pkcs11', '-keyform', 'engine', '-inkey', keyUri('ncp-decrypt'), '-recip', decryptCert, '-inform', 'DER',
            '-in', 'inner.der', '-binary', '-out', 'plain.bin']);
        },
      );
      const plain = readFileSync(join(work, 'plain.bin'));
      if (!plain.equals(payload)) throw new Error('openssl baseline did not decrypt the payload');

      // Sanity: what the gateway sealed verifies with openssl (the two sides do the same work).
      const sealed = await sealMessage({ payload, payloadContentType: 'application/octet-stream', recipientCert: deEnc, profile, token, signerCert: signPem });
      writeFileSync(
        join(work, 'gw.eml'),
        buildMailMessage({ from: 'ncp@dna.pruem.ro.eu-admin.net', to: 'ncp@dna.pruem.de.eu-admin.net', subject: 'x', messageId: '2@ro', date: new Date(), contentType: sealed.contentType, body: sealed.body }),
      );
      await ossl(['cms', '-verify', '-in', 'gw.eml', '-CAfile', signCert, '-binary', '-out', 'gw-inner.der']);

      const kb = `${size / 1024} KiB`;
      rows.push([kb, 'encrypt + sign', seal.gw.toFixed(2), seal.cli.toFixed(2), `${(seal.cli / seal.gw).toFixed(1)}x`]);
      rows.push([kb, 'verify + decrypt', open.gw.toFixed(2), open.cli.toFixed(2), `${(open.cli / open.gw).toFixed(1)}x`]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    const bare = await time(N_CLI, () => ossl(['version'])); // process start-up alone
    console.log(`\nbaseline of the baseline: a bare \`openssl version\` process costs ${bare.toFixed(2)} ms`);
  } finally {
    await token.close();
    tt.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
