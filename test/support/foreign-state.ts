/**
 * A foreign Member State made of public tools only, for tests that talk to our gateway from outside:
 * keys and self-signed certificates from `openssl req`, a stock SMTP server (smtp-server) as its
 * mailbox, and (with composeWithForeignPeer) our gateway composed in process with that State as peer.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { composeGateway, type GatewayCore } from '../../appliance/main.js';
import { loadConfig } from '../../appliance/config/config.js';
import { runOk } from '../../appliance/util/exec.js';
import { buildDnaRequest, type OutgoingProfile } from '../../appliance/dna/handler.js';
import { writePruemDna } from '../../appliance/dna/codec.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { DEMO_PROFILE, syntheticProfiles } from '../../appliance/demo/seed.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import { freePort } from './ports.js';

/** `<dir>/<who>.key` and `<who>.pem`: an RSA-2048 software key and its self-signed certificate. */
export async function opensslIdentity(dir: string, who: string, subject = `/C=AT/O=Foreign NCP/CN=${who}`): Promise<void> {
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${who}.key`), '-out', join(dir, `${who}.pem`), '-days', '30', '-subj', subject]);
}

export interface ForeignMailbox {
  readonly port: number;
  /** Every mail delivered, in order. */
  readonly received: Buffer[];
  close(): Promise<void>;
}

/** The foreign State's mailbox on loopback: our gateway's answers arrive here as the TESTA relay would deliver them. */
export async function foreignMailbox(): Promise<ForeignMailbox> {
  const port = await freePort();
  const received: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks));
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Our gateway DE composed in process (no sockets), AT (`<dir>/at.pem`) its only peer; data under `<dir>/DE`. */
export async function composeWithForeignPeer(dir: string, tokenLabel: string, extra: Record<string, unknown> = {}): Promise<GatewayCore> {
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      memberState: 'DE',
      dataDir: join(dir, 'DE'),
      token: { label: tokenLabel },
      peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') } }],
      ...extra,
    }),
  );
  return composeGateway(loadConfig(join(dir, 'config.json')), { log: pino({ level: 'silent' }) });
}

/** AT's Art. 3 request for DEMO_PROFILE, built by our own request builder, as the MIME entity AT encrypts. */
export function atDnaRequest(requestId: string): string {
  const normalised = normaliseProfile({ type: 'S', loci: Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]])) });
  if (!normalised.ok) throw new Error(normalised.refusal.reason);
  const built = buildDnaRequest({
    reqtype: 3, requestingState: 'AT', requestedState: 'DE', requestId, generator: 'test', now: new Date(),
    profiles: [{ profileIdent: 'AT-S-1', agency: 'AT-BK', date: '2026-11-23', profile: normalised.profile }],
  });
  if (!built.ok) throw new Error(built.error.message);
  return `Content-Type: application/xml\r\n\r\n${writePruemDna(built.messages[0]!)}`;
}

/**
 * `content` encrypted for DE (`<dir>/DE/certs/ncp-decrypt.pem`), then signed by `<dir>/<signer>.pem` — openssl
 * only, as Annex ch.1 §5 orders it. Returns the S/MIME part (its headers and base64 body) with CRLF line ends;
 * each call encrypts afresh, so the signed bytes differ every time.
 */
export async function opensslSmime(dir: string, name: string, content: string, signer = 'at'): Promise<string> {
  const input = join(dir, `${name}.in`);
  writeFileSync(input, content);
  await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-in', input, '-outform', 'DER', '-out', `${input}.enc`, join(dir, 'DE', 'certs', 'ncp-decrypt.pem')]);
  await runOk('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', `${input}.enc`, '-econtent_type', 'pkcs7-envelopedData', '-signer', join(dir, `${signer}.pem`), '-inkey', join(dir, `${signer}.key`), '-outform', 'SMIME', '-out', `${input}.smime`]);
  return readFileSync(`${input}.smime`, 'utf8').replace(/\r?\n/g, '\r\n');
}

/** `count` synthetic profiles of `state` (the demo generator), normalised as a foreign State sends them. */
export function syntheticOutgoing(state: MemberStateCode, count: number): OutgoingProfile[] {
  return syntheticProfiles(state, count).flatMap((line) => {
    const p = JSON.parse(line) as { id: string; type: 'P' | 'S'; agency: string; loci: Record<string, string[]> };
    const n = normaliseProfile({ type: p.type, loci: p.loci });
    return n.ok ? [{ profileIdent: p.id, agency: p.agency, date: '2026-11-23', profile: n.profile }] : [];
  });
}

/** A PRUEMDNA request from `state` to DE (split into messages of at most 500 profiles), each as the MIME entity the State encrypts. */
export function dnaRequestEntities(state: MemberStateCode, reqtype: 3 | 4, requestId: string, list: readonly OutgoingProfile[]): string[] {
  const built = buildDnaRequest({ reqtype, requestingState: state, requestedState: 'DE', requestId, generator: 'openssl-foreign-state', now: new Date(), profiles: [...list] });
  if (!built.ok) throw new Error(built.error.message);
  return built.messages.map((m) => `Content-Type: application/xml\r\n\r\n${writePruemDna(m)}`);
}

/** The mail `state`'s NCP sends DE's DNA address around an S/MIME `body` (its headers and content). */
export function foreignDnaMail(state: string, messageId: string, body: string): Buffer {
  return Buffer.from(`From: ncp@dna.pruem.${state}.eu-admin.net\r\nTo: ncp@dna.pruem.de.eu-admin.net\r\nSubject: ${state.toUpperCase()}/DNA\r\nMessage-ID: <${messageId}>\r\nDate: ${new Date().toUTCString()}\r\n${body}`);
}
