import { createHash, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { run, runOk } from '../../appliance/util/exec.js';
import type { AuditSigner } from '../../appliance/audit/signer.js';
import type {
  AdminEvent,
  IncomingRequestEvent,
  IncomingResponseEvent,
  NonAutomatedEvent,
  OutgoingResponseEvent,
  OutgoingSearchEvent,
} from '../../appliance/audit/events.js';

export function tempDir(prefix = 'audit-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A file-backed SQLite database as the daemon opens it (WAL, full sync). */
export function openDb(dir: string, name = 'gateway.sqlite'): Database.Database {
  const db = new Database(join(dir, name));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** A clock tests can move. */
export class TestClock {
  private t: number;
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  readonly now = (): Date => new Date(this.t);
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  iso(): string {
    return new Date(this.t).toISOString();
  }
}

export interface TestPki {
  dir: string;
  caKey: string;
  caCert: string;
  auditKey: string;
  auditCert: string;
}

/** A test CA and an audit certificate issued by it, made with the openssl CLI. */
export async function makePki(dir: string, name = 'audit', ca?: { caKey: string; caCert: string }): Promise<TestPki> {
  const caKey = ca?.caKey ?? join(dir, 'ca.key');
  const caCert = ca?.caCert ?? join(dir, 'ca.pem');
  if (!ca) {
    await runOk('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '3650',
      '-subj', '/CN=Test Audit Trust Anchor/O=Pruem Test', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  const auditKey = join(dir, `${name}.key`);
  const auditCert = join(dir, `${name}.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await runOk('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', auditKey, '-out', csr, '-subj', `/CN=Gateway ${name} key/O=Pruem Test`]);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', auditCert, '-days', '3650', '-extfile', ext]);
  return { dir, caKey, caCert, auditKey, auditCert };
}

/**
 * AuditSigner with a software key: node:crypto for the raw signature, `openssl cms -sign` for the
 * detached CMS. The daemon passes a token-backed one with the same interface.
 */
export function softwareSigner(pki: TestPki): AuditSigner & { calls: { raw: number; cms: number } } {
  const key = readFileSync(pki.auditKey, 'utf8');
  const calls = { raw: 0, cms: 0 };
  return {
    calls,
    certificatePem: readFileSync(pki.auditCert, 'utf8'),
    chainPem: [readFileSync(pki.caCert, 'utf8')],
    async signRaw(data: Uint8Array): Promise<Uint8Array> {
      calls.raw++;
      return sign('sha256', data, key);
    },
    async signCmsDetached(data: Uint8Array): Promise<Uint8Array> {
      calls.cms++;
      return runOk('openssl', [
        'cms', '-sign', '-binary', '-outform', 'DER', '-md', 'sha256',
        '-signer', pki.auditCert, '-inkey', pki.auditKey, '-certfile', pki.caCert,
      ], { input: data });
    },
  };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let seq = 0;
function nextId(prefix: string): string {
  seq += 1;
  return `${prefix}-${seq.toString().padStart(6, '0')}`;
}

const payload = '<PRUEMDNA>profile</PRUEMDNA>';

export function outgoingSearch(clock: TestClock, over: Partial<OutgoingSearchEvent> = {}): OutgoingSearchEvent {
  return {
    kind: 'exchange',
    channel: 'dna',
    direction: 'sent',
    role: 'request',
    messageType: 'DNA search request (Art. 3)',
    automated: true,
    dataSupplied: { categories: ['dna-profile'], recordIds: [nextId('RO-DNA')], count: 1, sha256: sha256(payload), byteLength: payload.length },
    occurredAt: clock.iso(),
    searchingBody: { state: 'RO', agency: 'IGPR-NCP' },
    fileManagingBody: { state: 'DE', agency: 'BKA' },
    peerState: 'DE',
    messageId: nextId('msg'),
    referenceNumbers: [nextId('REQ')],
    result: 'n/a',
    reason: 'Investigation of burglary series, file 123/2026',
    officerId: 'officer-7',
    orderingOfficerId: 'prosecutor-2',
    ...over,
  };
}

export function incomingRequest(clock: TestClock, over: Partial<IncomingRequestEvent> = {}): IncomingRequestEvent {
  return {
    kind: 'exchange',
    channel: 'fp',
    direction: 'received',
    role: 'request',
    messageType: 'TPRS (Art. 9 search)',
    automated: true,
    dataSupplied: { categories: ['dactyloscopic-data'], recordIds: [nextId('TCN')], count: 1, sha256: sha256('nist'), byteLength: 4 },
    occurredAt: clock.iso(),
    searchingBody: { state: 'AT', agency: 'BK' },
    fileManagingBody: { state: 'RO', agency: 'IGPR-AFIS' },
    peerState: 'AT',
    messageId: nextId('msg'),
    referenceNumbers: [nextId('TCN-AT')],
    result: 'n/a',
    ...over,
  };
}

export function outgoingResponse(clock: TestClock, over: Partial<OutgoingResponseEvent> = {}): OutgoingResponseEvent {
  return {
    kind: 'exchange',
    channel: 'fp',
    direction: 'sent',
    role: 'response',
    messageType: 'SRE (search result)',
    automated: true,
    dataSupplied: { categories: ['dactyloscopic-data'], recordIds: [nextId('RO-AFIS')], count: 1, sha256: sha256('sre'), byteLength: 3 },
    occurredAt: clock.iso(),
    searchingBody: { state: 'AT', agency: 'BK' },
    fileManagingBody: { state: 'RO', agency: 'IGPR-AFIS' },
    peerState: 'AT',
    messageId: nextId('msg'),
    referenceNumbers: [nextId('TCR')],
    result: 'hit',
    ...over,
  };
}

export function incomingResponse(clock: TestClock, over: Partial<IncomingResponseEvent> = {}): IncomingResponseEvent {
  return {
    kind: 'exchange',
    channel: 'vrd',
    direction: 'received',
    role: 'response',
    messageType: 'VRD vehicle inquiry answer',
    automated: true,
    dataSupplied: { categories: ['vehicle-registration-data'], recordIds: ['VIN WVWZZZ1JZXW000001'], count: 1, sha256: sha256('vrd'), byteLength: 3 },
    occurredAt: clock.iso(),
    searchingBody: { state: 'RO', agency: 'DRPCIV' },
    fileManagingBody: { state: 'NL', agency: 'RDW' },
    peerState: 'NL',
    messageId: nextId('msg'),
    referenceNumbers: [nextId('VRD')],
    result: 'hit',
    ...over,
  };
}

export function adminEvent(clock: TestClock, over: Partial<AdminEvent> = {}): AdminEvent {
  return {
    kind: 'admin',
    action: 'config-change',
    actor: 'admin-1',
    target: 'peers.DE.channels.dna.enabled',
    occurredAt: clock.iso(),
    outcome: 'success',
    details: { from: false, to: true },
    ...over,
  } as AdminEvent;
}

export function nonAutomated(clock: TestClock, over: Partial<NonAutomatedEvent> = {}): NonAutomatedEvent {
  return {
    kind: 'non-automated',
    direction: 'sent',
    channel: 'other',
    reason: 'Follow-up to DNA hit: personal data requested under mutual legal assistance',
    dataSupplied: {
      categories: ['personal-data'],
      recordIds: ['RO-DNA-000123'],
      count: 1,
      sha256: sha256('letter'),
      byteLength: 6,
      description: 'name, date of birth and file number of the person linked to profile RO-DNA-000123',
    },
    occurredAt: clock.iso(),
    searchingBody: { state: 'DE', agency: 'BKA' },
    fileManagingBody: { state: 'RO', agency: 'IGPR-NCP' },
    peerState: 'DE',
    referenceNumbers: ['MLA-2026-77'],
    officerId: 'officer-9',
    ...over,
  };
}


export interface CommandRun {
  command: string;
  code: number;
  output: string;
}

/** Runs every "$ command" line of a bundle's VERIFY.txt, in the bundle, as an auditor would. */
export async function runVerifyTxt(dir: string): Promise<CommandRun[]> {
  const text = readFileSync(join(dir, 'VERIFY.txt'), 'utf8');
  const commands = text
    .split('\n')
    .filter((l) => l.startsWith('    $ '))
    .map((l) => l.slice('    $ '.length));
  const out: CommandRun[] = [];
  for (const command of commands) {
    const r = await run('sh', ['-c', command], { cwd: dir });
    out.push({ command, code: r.code, output: `${r.stdout.toString('utf8')}${r.stderr}` });
  }
  return out;
}

/** Recomputes SHA256SUMS the way a forger would after changing files (it cannot re-sign it). */
export async function forgeSums(dir: string): Promise<void> {
  const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
  const lines = sums
    .trimEnd()
    .split('\n')
    .map((l) => {
      const file = l.slice(66);
      return `${createHash('sha256').update(readFileSync(join(dir, file))).digest('hex')}  ${file}`;
    });
  writeFileSync(join(dir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
}
