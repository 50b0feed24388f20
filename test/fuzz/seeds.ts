/**
 * Seeds for the fuzz campaigns, made in the run from real parts: our gateway's keys on a private
 * SoftHSM2 token (RO), a foreign State made of `openssl` (DE), messages sealed both ways, the
 * PRUEMDNA documents inside them, configurations as `pruem demo` and an operator write them, and
 * ANSI/NIST files (the reference files and built INT-I transactions).
 * Everything is written to one folder (seeds.json lists it) so the campaign workers can load it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { decodeBody, parseMimeEntity, splitMultipart } from '../../appliance/transport/smime/MimeEntity.js';
import { parseSignedData } from '../../appliance/transport/smime/SignedData.js';
import { sealMessage } from '../../appliance/transport/smime/index.js';
import { writePruemDna } from '../../appliance/dna/codec.js';
import type { PruemDnaMessage } from '../../appliance/dna/message.js';
import { writeNetworkConfigs } from '../../appliance/demo/network.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';
import { FULL_LOCI, request } from '../dna/xml-helpers.js';
import type { SeedKind } from './mutate.js';
import { nistSeeds } from './nist-input.js';

/** The parsers at the trust boundary, and 'open-message': the whole verify-then-decrypt of a received mail. */
export type ParserName = 'mime' | 'cms-signed' | 'cms-enveloped' | 'pruemdna' | 'config' | 'open-message' | 'nist';
export const PARSERS: readonly ParserName[] = ['mime', 'cms-signed', 'cms-enveloped', 'pruemdna', 'config', 'open-message', 'nist'];

export const SEED_KIND: Record<ParserName, SeedKind> = { mime: 'text', 'cms-signed': 'der', 'cms-enveloped': 'der', pruemdna: 'text', config: 'json', 'open-message': 'text', nist: 'nist' };

export interface SeedSet {
  readonly dir: string;
  /** The files of each parser's seeds. */
  readonly files: Record<ParserName, string[]>;
  /** Our token (RO): module, label, PIN, softhsm2.conf. */
  readonly token: { module: string; label: string; pin: string; conf: string };
  /** A configuration whose peer directory knows DE's signing certificate. */
  readonly directoryConfig: string;
  /** The signed content of the multipart/signed seed (for verifying its detached signature). */
  readonly detached: string[];
}

export function loadSeeds(set: SeedSet, parser: ParserName): Buffer[] {
  return set.files[parser].map((f) => readFileSync(f));
}

function answer(): PruemDnaMessage {
  const r = request(2);
  return {
    header: { ...r.header, direction: 'A', requesting: r.header.requesting, requested: r.header.requested },
    datas: [
      { reqtype: 3, date: '2023-11-30', type: 'S', result: 'H', agency: 'INP Bucuresti', profileIdent: 'DE-S-1', quality: 0 },
      { reqtype: 3, date: '2023-11-30', type: 'P', result: 'H', agency: 'INP Bucuresti', profileIdent: 'RO-P-77', matchId: 'DE-S-1', quality: 1, hitcount: 24, profile: { loci: FULL_LOCI } },
      { reqtype: 3, date: '2023-11-30', type: 'S', result: 'N', agency: 'INP Bucuresti', profileIdent: 'DE-S-2', quality: 0 },
      { reqtype: 3, date: '2023-11-30', type: 'S', result: 'E', agency: 'INP Bucuresti', profileIdent: 'DE-S-3', message: 'profile has too few loci' },
    ],
  } as PruemDnaMessage;
}

function mail(from: string, to: string, body: Buffer): Buffer {
  const headers =
    `From: ${from}\nTo: ${to}\nSubject: DNA search\nMessage-ID: <${randomBytes(6).toString('hex')}@fuzz>\nDate: ${new Date().toUTCString()}\n`;
  return Buffer.from((headers + body.toString('latin1')).replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** Makes every seed under `dir`; returns the seed set and the test token (clean it up at the end). */
export async function makeSeeds(dir: string): Promise<{ set: SeedSet; tt: TestToken }> {
  mkdirSync(dir, { recursive: true });
  const tt = await createTestToken({ label: 'fuzz-ro' });
  try {
    return await makeSeedsWith(dir, tt);
  } catch (e) {
    tt.cleanup();
    throw e;
  }
}

async function makeSeedsWith(dir: string, tt: TestToken): Promise<{ set: SeedSet; tt: TestToken }> {
  const files: Record<ParserName, string[]> = { mime: [], 'cms-signed': [], 'cms-enveloped': [], pruemdna: [], config: [], 'open-message': [], nist: [] };
  const put = (parser: ParserName, name: string, data: Buffer | string) => {
    const p = join(dir, `${parser}-${name}`);
    writeFileSync(p, data);
    files[parser].push(p);
    return p;
  };
  const openssl = (args: string[]) => runOk('openssl', args, { cwd: dir });

  // PRUEMDNA documents: a request with several profiles, an answer with echo, hit, no-hit and error rows.
  const requestXml = writePruemDna(request(3));
  const answerXml = writePruemDna(answer());
  put('pruemdna', 'request.xml', requestXml);
  put('pruemdna', 'answer.xml', answerXml);
  put('pruemdna', 'request-4.xml', writePruemDna(request(1, 4)));

  // Keys: ours on the token (as provisioning makes them), DE's with openssl.
  const token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  try {
    const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(dir, 'certs') });
    const roSign = certs.find((c) => c.label === 'ncp-sign')!.path;
    const roDecrypt = certs.find((c) => c.label === 'ncp-decrypt')!.path;
    for (const name of ['de-sign', 'de-enc']) {
      await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=DE NCP ${name}/C=DE`, '-days', '30',
        '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=emailProtection']);
    }
    const directoryConfig = join(dir, 'directory-config.json');
    writeFileSync(directoryConfig, JSON.stringify({ memberState: 'RO', peers: [{ code: 'DE', certificates: { signing: join(dir, 'de-sign.pem'), encryption: join(dir, 'de-enc.pem') } }] }));
    const detached: string[] = [];

    // DE → RO with openssl: opaque signed-data over an EnvelopedData (PKCS#1 v1.5 and OAEP), and multipart/signed.
    writeFileSync(join(dir, 'answer.xml'), answerXml);
    writeFileSync(join(dir, 'request.xml'), requestXml);
    for (const [tag, keyopt, payload] of [
      ['pkcs1', [] as string[], 'request.xml'],
      ['oaep', ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'], 'answer.xml'],
    ] as const) {
      await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', payload, '-outform', 'DER', '-out', `enc-${tag}.der`, '-recip', roDecrypt, ...keyopt]);
      put('cms-enveloped', `openssl-${tag}.der`, readFileSync(join(dir, `enc-${tag}.der`)));
      await openssl(['cms', '-sign', '-binary', '-nodetach', '-econtent_type', 'pkcs7-envelopedData', '-in', `enc-${tag}.der`, '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-outform', 'SMIME', '-out', `signed-${tag}.smime`]);
      const m = put('mime', `openssl-opaque-${tag}.eml`, mail('ncp@dna.pruem.de.eu-admin.net', 'ncp@dna.pruem.ro.eu-admin.net', readFileSync(join(dir, `signed-${tag}.smime`))));
      put('cms-signed', `openssl-opaque-${tag}.der`, decodeBody(parseMimeEntity(readFileSync(m))));
    }
    await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'request.xml', '-out', 'enc-mime.smime', roDecrypt]);
    await openssl(['cms', '-sign', '-in', 'enc-mime.smime', '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-out', 'signed-multipart.smime']);
    const multipart = put('mime', 'openssl-multipart.eml', mail('ncp@dna.pruem.de.eu-admin.net', 'ncp@dna.pruem.ro.eu-admin.net', readFileSync(join(dir, 'signed-multipart.smime'))));
    const parts = splitMultipart(parseMimeEntity(readFileSync(multipart)));
    const [content, signature] = parts as [Buffer, Buffer];
    const contentFile = join(dir, 'detached-content.bin');
    writeFileSync(contentFile, content);
    detached.push(contentFile);
    put('cms-signed', 'openssl-detached.der', decodeBody(parseMimeEntity(signature)));
    put('cms-enveloped', 'openssl-mime.der', decodeBody(parseMimeEntity(content)));

    // RO → DE, sealed on the token as the gateway sends it (and RO → RO, which our token can open).
    for (const [tag, recipient] of [['to-de', join(dir, 'de-enc.pem')], ['to-ro', roDecrypt]] as const) {
      const sealed = await sealMessage({
        payload: Buffer.from(answerXml),
        payloadContentType: 'application/xml',
        recipientCert: readFileSync(recipient, 'utf8'),
        profile: { allowLegacy: false, keyTransport: tag === 'to-de' ? 'rsa-oaep-sha256' : 'rsa-pkcs1', digest: 'sha256' },
        token,
        signerCert: readFileSync(roSign, 'utf8'),
      });
      const m = put('mime', `gateway-${tag}.eml`, mail('ncp@dna.pruem.ro.eu-admin.net', 'ncp@dna.pruem.de.eu-admin.net', Buffer.from(`MIME-Version: 1.0\nContent-Type: ${sealed.contentType}\nContent-Transfer-Encoding: base64\n\n${sealed.body.toString('latin1')}`, 'latin1')));
      const der = put('cms-signed', `gateway-${tag}.der`, decodeBody(parseMimeEntity(readFileSync(m))));
      const inner = parseSignedData(readFileSync(der)).eContent;
      // Our own sealing: the signed content is the EnvelopedData itself (eContentType envelopedData).
      if (inner && tag === 'to-ro') put('cms-enveloped', `gateway-${tag}.der`, inner);
    }

    // Configurations: the demo network's, and an operator's with every section.
    const [demo] = writeNetworkConfigs(join(dir, 'demo'), [
      { state: 'RO', apiPort: 8080, smtpPort: 2525, officersPort: 8090 },
      { state: 'DE', apiPort: 8081, smtpPort: 2526 },
    ], { host: '127.0.0.1', port: 2500 });
    put('config', 'demo.json', readFileSync(demo!.configPath));
    put('config', 'operator.json', JSON.stringify({
      memberState: 'RO',
      dataDir: '/var/lib/pruem',
      listen: { api: { host: '10.0.0.5', port: 443 }, smtp: { host: '10.1.0.5', port: 25 } },
      relay: { host: 'relay.testa.eu', port: 25 },
      token: { module: '/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so', label: 'pruem-ro', pin: { file: '/etc/pruem/token.pin' } },
      peers: [
        { code: 'DE', certificates: { signing: '/etc/pruem/peers/de-sign.pem', encryption: '/etc/pruem/peers/de-enc.pem' }, crypto: { allowLegacy: false, keyTransport: 'rsa-oaep-sha256', digest: 'sha256' } },
        { code: 'AT', certificates: { signing: '/etc/pruem/peers/at.pem', encryption: '/etc/pruem/peers/at.pem' }, dailyCapacity: 500 },
      ],
    }, null, 2));
    put('config', 'empty.json', '{}');

    // ANSI/NIST files for the fingerprint channel's reader and INT-I validator.
    for (const [name, bytes] of nistSeeds()) put('nist', name, bytes);

    // The whole opening of a received mail starts from the same mails as the MIME parser.
    files['open-message'] = [...files.mime];
    const set: SeedSet = { dir, files, token: { module: tt.module, label: tt.label, pin: tt.pin, conf: tt.conf }, directoryConfig, detached };
    writeFileSync(join(dir, 'seeds.json'), JSON.stringify(set, null, 2));
    return { set, tt };
  } finally {
    await token.close();
  }
}
