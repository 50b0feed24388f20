/**
 * The foreign State (AT) of the pipeline benchmark, built from public tools only, as in
 * test/integration/foreign-state.test.ts: a software key made by `openssl req`, requests sealed by
 * `openssl cms` (encrypt for DE, then sign: one process each), a stock smtp-server as its mailbox,
 * and answers checked with `openssl cms -verify` / `-decrypt`. No code of ours seals or opens there.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { DEMO_PROFILE, seededRandom, syntheticProfiles } from '../../../appliance/demo/seed.js';
import { runOk } from '../../../appliance/util/exec.js';

export const FOREIGN = { state: 'AT', address: 'ncp@dna.pruem.at.eu-admin.net' } as const;
export const OURS = { state: 'DE', address: 'ncp@dna.pruem.de.eu-admin.net' } as const;

/** Element order of the PRUEMDNA schema (xs:sequence): ESS loci, then the additional loci. */
const ESS = ['vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51', 'amelogenin'];
const ADDITIONAL = ['tpox', 'csf1po', 'd13s317', 'd7s820', 'd5s818', 'd16s539', 'd2s1338', 'd19s433', 'penta_d', 'penta_e', 'fes', 'f13a1', 'f13b', 'se33', 'cd4', 'gaba'];

/** Allele ranges of the additional loci we type in random (mostly no-hit) requests; same as the demo seed. */
const RANGES: Record<string, readonly [number, number]> = {
  vwa: [13, 20], th01: [6, 10], d21s11: [27, 33], fga: [19, 26], d8s1179: [10, 16], d3s1358: [14, 19], d18s51: [12, 20],
  tpox: [8, 11], csf1po: [9, 13], d13s317: [8, 14], d16s539: [9, 13], d2s1338: [16, 25],
};

export interface ForeignKeys {
  readonly key: string;
  readonly cert: string;
}

export async function makeForeignKeys(dir: string): Promise<ForeignKeys> {
  const key = join(dir, 'at.key');
  const cert = join(dir, 'at.pem');
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/C=AT/O=Foreign NCP/CN=${FOREIGN.address}`]);
  return { key, cert };
}

/** One Art. 3 request as the benchmark sends it, and what its answer must contain. */
export interface RequestSpec {
  readonly requestId: string;
  readonly messageId: string;
  /** Our national profile the request must hit (quality 1), or null when it was drawn at random. */
  readonly expectHit: string | null;
  readonly xml: string;
}

export interface SealedRequest extends RequestSpec {
  readonly raw: Buffer;
}

function lociXml(loci: Record<string, readonly string[]>, order: readonly string[]): string {
  return order
    .flatMap((l) => {
      const pair = loci[l];
      return pair ? [`<${l}><low_allele>${pair[0]}</low_allele><high_allele>${pair[1]}</high_allele></${l}>`] : [];
    })
    .join('');
}

function requestXml(requestId: string, loci: Record<string, readonly string[]>, now: Date): string {
  const date = now.toISOString().slice(0, 10);
  const time = now.toISOString().slice(11, 19);
  const ess = lociXml(loci, ESS);
  const add = lociXml(loci, ADDITIONAL);
  return `<?xml version="1.0" encoding="UTF-8"?>
<PRUEMDNA><header><direction>R</direction><ref>${requestId}</ref><generator>openssl-foreign-state</generator><schema_version>1.0</schema_version>
<requesting><source_isocode>AT</source_isocode><destination_isocode>DE</destination_isocode><request_id>${requestId}</request_id><date>${date}</date><time>${time}</time></requesting>
<requested><source_isocode>DE</source_isocode><destination_isocode>AT</destination_isocode><request_id>${requestId}</request_id><date>${date}</date><time>${time}</time></requested></header>
<datas><reqtype>3</reqtype><date>${date}</date><type>S</type><result>U</result><agency>AT-BK</agency><profile_ident>${requestId}-P</profile_ident>
<profile><ess_issol>${ess}</ess_issol>${add ? `<additional_loci>${add}</additional_loci>` : ''}<profile_id>${requestId}-P</profile_id></profile></datas></PRUEMDNA>
`;
}


/**
 * `count` single-profile Art. 3 requests: every `hitEvery`-th is a copy of one of our national
 * profiles (an exact hit), the others are drawn at random from the allele ranges (no-hits, as most
 * real searches are). `nationalProfiles` is what the DE database was seeded with.
 */
export function requestSpecs(prefix: string, count: number, nationalProfiles: number, hitEvery: number, now: Date): RequestSpec[] {
  const national = syntheticProfiles('DE', nationalProfiles).map((line) => JSON.parse(line) as { id: string; loci: Record<string, string[]> });
  const random = seededRandom([...prefix].reduce((a, c) => a * 31 + c.charCodeAt(0), 11));
  const specs: RequestSpec[] = [];
  for (let i = 0; i < count; i++) {
    const requestId = `AT-${prefix}-${String(i).padStart(5, '0')}`;
    let loci: Record<string, readonly string[]>;
    let expectHit: string | null = null;
    if (i % hitEvery === 0 && national.length) {
      const p = national[Math.floor(random() * national.length)]!;
      loci = p.loci;
      expectHit = p.id;
    } else {
      const drawn: Record<string, string[]> = {};
      for (const [l, [lo, hi]] of Object.entries(RANGES)) {
        const a = lo + Math.floor(random() * (hi - lo + 1));
        const b = lo + Math.floor(random() * (hi - lo + 1));
        drawn[l] = [String(Math.min(a, b)), String(Math.max(a, b))];
      }
      drawn.amelogenin = random() < 0.5 ? ['X', 'X'] : ['X', 'Y'];
      loci = drawn;
    }
    specs.push({ requestId, messageId: `${requestId.toLowerCase()}@dna.pruem.at.eu-admin.net`, expectHit, xml: requestXml(requestId, loci, now) });
  }
  return specs;
}

/** The demo profile as a request: DE holds it exactly. Used by the smoke check before timing. */
export function demoRequestSpec(now: Date): RequestSpec {
  const requestId = 'AT-BENCH-DEMO';
  return { requestId, messageId: 'at-bench-demo@dna.pruem.at.eu-admin.net', expectHit: 'DE-DEMO-0001', xml: requestXml(requestId, DEMO_PROFILE, now) };
}

/**
 * Seals with `openssl cms`, encrypt first, then sign (Annex ch.1 §5), and wraps it in a mail.
 * `concurrency` openssl pipelines at a time.
 */
export async function sealRequests(specs: readonly RequestSpec[], keys: ForeignKeys, ourDecryptCert: string, concurrency: number): Promise<SealedRequest[]> {
  const out: SealedRequest[] = new Array<SealedRequest>(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i]!;
      const enc = await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-outform', 'DER', ourDecryptCert], { input: spec.xml, timeoutMs: 30_000 });
      const smime = await runOk(
        'openssl',
        ['cms', '-sign', '-binary', '-nodetach', '-inform', 'DER', '-econtent_type', 'pkcs7-envelopedData', '-signer', keys.cert, '-inkey', keys.key, '-outform', 'SMIME'],
        { input: enc, timeoutMs: 30_000 },
      );
      const headers = [`From: ${FOREIGN.address}`, `To: ${OURS.address}`, 'Subject: AT/DNA', `Message-ID: <${spec.messageId}>`, `Date: ${new Date().toUTCString()}`].join('\r\n');
      out[i] = { ...spec, raw: Buffer.from(`${headers}\r\n${smime.toString('latin1').replace(/\r?\n/g, '\r\n')}`, 'latin1') };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return out;
}

/** The foreign State's mailbox: records when each answer arrived, keyed by the request it answers. */
export interface Mailbox {
  readonly port: number;
  /** In-Reply-To (the request's Message-ID) → arrival (performance.now()) and the raw answer. */
  readonly answers: Map<string, { at: number; raw: Buffer }>;
  /** Answers for a request that already had one, and mails without In-Reply-To. */
  readonly duplicates: number;
  readonly unmatched: number;
  close(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const answers = new Map<string, { at: number; raw: Buffer }>();
  const state = { duplicates: 0, unmatched: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 32 * 1024 * 1024,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const at = performance.now();
        const raw = Buffer.concat(chunks);
        const headEnd = raw.indexOf('\r\n\r\n');
        const head = raw.subarray(0, headEnd < 0 ? Math.min(raw.length, 8192) : headEnd).toString('latin1');
        const inReplyTo = /^In-Reply-To:\s*<([^>\r\n]+)>/im.exec(head)?.[1];
        if (!inReplyTo) state.unmatched++;
        else if (answers.has(inReplyTo)) state.duplicates++;
        else answers.set(inReplyTo, { at, raw });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    answers,
    get duplicates() {
      return state.duplicates;
    },
    get unmatched() {
      return state.unmatched;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Checks an answer the way the foreign State would: signature against DE's published signing
 * certificate, decryption with the AT key, then the PRUEMDNA content. Returns the problem or null.
 */
export async function checkAnswer(raw: Buffer, spec: RequestSpec, keys: ForeignKeys, ourSigningCert: string): Promise<string | null> {
  let inner: string;
  try {
    const enc = await runOk('openssl', ['cms', '-verify', '-inform', 'SMIME', '-CAfile', ourSigningCert, '-binary'], { input: raw, timeoutMs: 30_000 });
    inner = (await runOk('openssl', ['cms', '-decrypt', '-inform', 'DER', '-recip', keys.cert, '-inkey', keys.key], { input: enc, timeoutMs: 30_000 })).toString('utf8');
  } catch (e) {
    return `openssl refused the answer: ${(e as Error).message.slice(0, 300)}`;
  }
  // The decrypted content is a MIME entity (RFC 5751) carrying the PRUEMDNA answer in base64.
  const split = inner.search(/\r?\n\r?\n/);
  const body = split < 0 ? inner : inner.slice(split).trim();
  const xml = /^\s*</.test(body) ? body : Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (!/<direction>A<\/direction>/.test(xml)) return 'not an answer (direction A)';
  if (!xml.includes(`<request_id>${spec.requestId}</request_id>`)) return `answer does not name request ${spec.requestId}`;
  if (spec.expectHit && !xml.includes(`<profile_ident>${spec.expectHit}</profile_ident>`)) return `expected hit ${spec.expectHit} missing`;
  if (spec.expectHit && !/<quality>1<\/quality>/.test(xml)) return 'expected a quality-1 hit';
  return null;
}
