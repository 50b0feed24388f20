#!/usr/bin/env node
// @ts-check
/**
 * verify-audit.mjs — offline verifier for Prüm gateway audit export bundles.
 *
 * One plain JavaScript file that needs nothing but Node.js (18 or later) and its standard library,
 * so an auditor can run it on any machine without installing anything:
 *
 *     node verify-audit.mjs <bundle-dir> [--trust-anchor-sha256 <hex>]... [--previous <older-bundle-dir>] [--json]
 *
 * It checks, from the bundle's bytes alone:
 *   1. SHA256SUMS lists every file and each digest matches (the same as `sha256sum -c SHA256SUMS`);
 *   2. SHA256SUMS.p7s is a detached CMS signature over SHA256SUMS by the audit certificate
 *      (the same check as `openssl cms -verify`);
 *   3. every audit certificate chains to a self-signed trust anchor, whose SHA-256 fingerprint the
 *      auditor compares with the one obtained out of band (or passes with --trust-anchor-sha256);
 *   4. every checkpoint (signed tree head) carries a valid RSA signature by its audit certificate,
 *      and the checkpoints form an unbroken chain of periods through their final heads
 *      (a removed or rewritten period breaks the chain);
 *   5. every exported entry is included in its period's signed tree (RFC 9162 inclusion proofs;
 *      for periods exported in full, the whole tree is recomputed from the entries, which also
 *      proves that none is missing);
 *   6. the tree the previous export showed is a prefix of the one this export shows (RFC 9162
 *      consistency proof), i.e. nothing was rewritten between the two exports;
 *   7. deletion records (two-year retention) carry signed final heads of the deleted periods.
 *
 * Everything in the bundle is attacker-controlled input: numbers, paths and encodings are parsed
 * defensively, and every failure is reported with one code from a closed list (VERIFY_ERROR_CODES).
 * The same file is imported by the appliance (`pruem audit verify`), so what the auditor runs is
 * exactly what the appliance's tests run.
 */
import { createHash, X509Certificate, verify as cryptoVerify } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export const BUNDLE_FORMAT = 'pruem-audit-export/1';
export const CHECKPOINT_HEADER = 'pruem-audit-checkpoint/1';

/** The closed list of failure codes. Each names the verification concern that failed. */
export const VERIFY_ERROR_CODES = Object.freeze([
  'USAGE_ERROR',
  'BUNDLE_FILE_MISSING',
  'BUNDLE_FORMAT_ERROR',
  'BUNDLE_UNLISTED_FILE',
  'DIGEST_MISMATCH',
  'SUMS_SIGNATURE_ERROR',
  'CERTIFICATE_ERROR',
  'CERTIFICATE_CHAIN_ERROR',
  'TRUST_ANCHOR_MISMATCH',
  'CHECKPOINT_FORMAT_ERROR',
  'CHECKPOINT_SIGNATURE_ERROR',
  'CHECKPOINT_CHAIN_ERROR',
  'ENTRY_FORMAT_ERROR',
  'ENTRY_ORDER_ERROR',
  'ENTRY_COUNT_MISMATCH',
  'INCLUSION_PROOF_ERROR',
  'COMPLETENESS_ERROR',
  'CONSISTENCY_PROOF_ERROR',
  'PREVIOUS_EXPORT_MISMATCH',
  'PREVIOUS_ANCHOR_PERIOD_DELETED',
  'DELETION_RECORD_ERROR',
  'EXPORT_EVENT_ERROR',
]);

/** Bounds for attacker-supplied sizes; each says why it is large enough. */
const LIMITS = Object.freeze({
  /** A tree of 2^53 leaves cannot exist; proofs are at most ~64 hashes for any real size. */
  maxProofHashes: 64,
  /** manifest.json, checkpoints, proofs/consistency.json, certs: small files; 64 MiB is generous. */
  maxSmallFileBytes: 64 * 1024 * 1024,
  /** One audit entry is well under 64 KiB (bounded fields); 1 MiB leaves room. */
  maxLineBytes: 1024 * 1024,
  maxChainLength: 8,
});

// ---------------------------------------------------------------------------------------------
// RFC 9162 Merkle tree hashing and proof verification (§2.1)
// ---------------------------------------------------------------------------------------------

const HASH_LEN = 32;

/** SHA-256(0x00 ‖ leaf) */
export function leafHash(data) {
  return createHash('sha256').update(Buffer.from([0])).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right) */
export function nodeHash(left, right) {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

export const EMPTY_ROOT = createHash('sha256').digest();

function isHash(value) {
  return (value instanceof Uint8Array) && value.length === HASH_LEN;
}

function isSize(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Integer halving without 32-bit bitwise operators (sizes may exceed 2^31). */
function half(x) {
  return Math.floor(x / 2);
}

function odd(x) {
  return x % 2 === 1;
}

/**
 * RFC 9162 §2.1.3.2: verify that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves
 * whose root is `root`, using the audit path `proof`. Returns a boolean; never throws.
 */
export function verifyInclusion(leaf, index, size, proof, root) {
  if (!isHash(leaf) || !isHash(root) || !isSize(index) || !isSize(size) || !Array.isArray(proof)) return false;
  if (index >= size || proof.length > LIMITS.maxProofHashes) return false;
  let fn = index;
  let sn = size - 1;
  let r = Buffer.from(leaf);
  for (const p of proof) {
    if (!isHash(p) || sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}

/**
 * RFC 9162 §2.1.4.2: verify that the tree of `first` leaves with root `firstRoot` is a prefix of the
 * tree of `second` leaves with root `secondRoot`. Returns a boolean; never throws.
 */
export function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (!isSize(first) || !isSize(second) || !isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof)) return false;
  if (first > second || proof.length > LIMITS.maxProofHashes) return false;
  if (!proof.every(isHash)) return false;
  const a = Buffer.from(firstRoot);
  const b = Buffer.from(secondRoot);
  if (first === second) return proof.length === 0 && a.equals(b);
  if (first === 0) return proof.length === 0 && a.equals(EMPTY_ROOT); // the empty tree is a prefix of every tree
  if (proof.length === 0) return false;
  let path = proof.map((p) => Buffer.from(p));
  if (isPowerOfTwo(first)) path = [a, ...path];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return fr.equals(a) && sr.equals(b) && sn === 0;
}

function isPowerOfTwo(n) {
  if (n < 1) return false;
  while (n > 1) {
    if (odd(n)) return false;
    n = half(n);
  }
  return true;
}

/**
 * Streaming Merkle tree hash: push leaf hashes in order, then root(). Keeps O(log n) memory,
 * so a period of millions of entries can be recomputed from its export.
 */
export class TreeBuilder {
  constructor() {
    /** @type {{ hash: Buffer, size: number }[]} perfect subtrees, left to right, sizes strictly decreasing */
    this.stack = [];
    this.size = 0;
  }
  /** @param {Buffer} hash */
  push(hash) {
    let node = { hash, size: 1 };
    let top = this.stack[this.stack.length - 1];
    while (top !== undefined && top.size === node.size) {
      this.stack.pop();
      node = { hash: nodeHash(top.hash, node.hash), size: node.size * 2 };
      top = this.stack[this.stack.length - 1];
    }
    this.stack.push(node);
    this.size += 1;
  }
  root() {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1].hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i].hash, r);
    return r;
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints (signed tree heads)
// ---------------------------------------------------------------------------------------------

const PERIOD_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const ORIGIN_RE = /^[A-Za-z0-9._\/-]{1,100}$/;
const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;

/** Parses a decimal size written by the appliance; attacker-controlled, so strictly. */
export function parseSize(text) {
  if (typeof text !== 'string' || !SIZE_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parses a checkpoint body. The format is fixed line by line (no reordering, no extra lines),
 * so exactly one byte string corresponds to each tree head.
 * @returns {{ ok: true, value: Checkpoint } | { ok: false, message: string }}
 */
export function parseCheckpoint(text) {
  if (typeof text !== 'string' || !text.endsWith('\n')) return { ok: false, message: 'checkpoint must end with a newline' };
  const lines = text.slice(0, -1).split('\n');
  const keys = ['origin', 'period', 'size', 'root', 'time', 'previous-period', 'previous-final-head', 'final', 'signer'];
  if (lines.length !== keys.length + 1 || lines[0] !== CHECKPOINT_HEADER) {
    return { ok: false, message: `checkpoint must be "${CHECKPOINT_HEADER}" followed by ${keys.length} lines` };
  }
  /** @type {Record<string, string>} */
  const f = {};
  for (let i = 0; i < keys.length; i++) {
    const line = lines[i + 1] ?? '';
    const prefix = `${keys[i]} `;
    if (!line.startsWith(prefix)) return { ok: false, message: `line ${i + 2} must start with "${prefix}"` };
    f[keys[i]] = line.slice(prefix.length);
  }
  const size = parseSize(f.size);
  if (!ORIGIN_RE.test(f.origin)) return { ok: false, message: 'bad origin' };
  if (!PERIOD_RE.test(f.period)) return { ok: false, message: 'bad period' };
  if (size === undefined) return { ok: false, message: 'bad size' };
  if (!HEX64_RE.test(f.root)) return { ok: false, message: 'bad root' };
  if (!TIME_RE.test(f.time) || Number.isNaN(Date.parse(f.time))) return { ok: false, message: 'bad time' };
  const first = f['previous-period'] === '-';
  if (first !== (f['previous-final-head'] === '-')) return { ok: false, message: 'previous-period and previous-final-head must both be "-" or both be set' };
  if (!first && (!PERIOD_RE.test(f['previous-period']) || !HEX64_RE.test(f['previous-final-head']))) {
    return { ok: false, message: 'bad previous period or head' };
  }
  if (!first && f['previous-period'] >= f.period) return { ok: false, message: 'previous period must precede the period' };
  if (f.final !== 'yes' && f.final !== 'no') return { ok: false, message: 'final must be yes or no' };
  if (!HEX64_RE.test(f.signer)) return { ok: false, message: 'bad signer fingerprint' };
  return {
    ok: true,
    value: {
      origin: f.origin,
      period: f.period,
      size,
      root: Buffer.from(f.root, 'hex'),
      time: f.time,
      previousPeriod: first ? null : f['previous-period'],
      previousFinalHead: first ? null : f['previous-final-head'],
      final: f.final === 'yes',
      signer: f.signer,
      body: Buffer.from(text, 'utf8'),
      hash: createHash('sha256').update(text, 'utf8').digest('hex'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Certificates and signatures
// ---------------------------------------------------------------------------------------------

/** Splits a PEM file into certificates. */
export function parsePemCertificates(text) {
  const blocks = String(text).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

export function certificateSha256(cert) {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** openssl's way of writing a fingerprint (AB:CD:…), for comparing with `openssl x509 -fingerprint -sha256`. */
export function colonHex(hex) {
  return hex.toUpperCase().match(/../g)?.join(':') ?? '';
}

/**
 * Verifies `cert` → chain[0] → … → a self-signed anchor (the last element, or cert itself when the
 * chain is empty). Returns the anchor, or an error message.
 */
export function verifyCertificateChain(cert, chain) {
  if (chain.length > LIMITS.maxChainLength) return { ok: false, message: 'certificate chain too long' };
  const path = [cert, ...chain];
  for (let i = 0; i < path.length - 1; i++) {
    const child = path[i];
    const issuer = path[i + 1];
    if (!issuer.ca) return { ok: false, message: `${issuer.subject} is not a CA certificate` };
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) {
      return { ok: false, message: `${child.subject} is not signed by ${issuer.subject}` };
    }
  }
  const anchor = path[path.length - 1];
  // The anchor is trusted because its fingerprint is compared out of band, not because it is a CA:
  // a self-signed end-entity audit certificate (a development token, or a key the authority pinned)
  // lacks keyCertSign, and X509Certificate.checkIssued() demands it. Self-signed = same name, own key.
  if (anchor.subject !== anchor.issuer || !anchor.verify(anchor.publicKey)) {
    return { ok: false, message: `the last certificate (${anchor.subject}) is not a self-signed trust anchor` };
  }
  return { ok: true, anchor };
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over `data` by the certificate's key. */
export function verifyRawSignature(cert, data, signature) {
  try {
    return cryptoVerify('sha256', data, cert.publicKey, signature);
  } catch {
    return false;
  }
}

// A minimal DER reader: definite lengths only (what DER requires), bounded by the buffer.
function readTlv(buf, pos) {
  if (pos + 2 > buf.length) throw new Error('truncated DER');
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) throw new Error('high-tag-number form not expected');
  let length = buf[pos + 1];
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0) throw new Error('indefinite length is not DER');
    if (n > 4) throw new Error('DER length too large');
    if (pos + 2 + n > buf.length) throw new Error('truncated DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos + 2 + i];
    header = 2 + n;
  }
  const end = pos + header + length;
  if (end > buf.length) throw new Error('DER value runs past its container');
  return { tag, start: pos, end, value: buf.subarray(pos + header, end), raw: buf.subarray(pos, end) };
}

function derChildren(tlv) {
  const out = [];
  let p = 0;
  while (p < tlv.value.length) {
    const c = readTlv(tlv.value, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

function expectTag(tlv, tag, what) {
  if (!tlv || tlv.tag !== tag) throw new Error(`${what}: expected tag 0x${tag.toString(16)}`);
  return tlv;
}

/** The issuer Name (DER) and serial number (INTEGER contents) of a certificate. */
function certificateIssuerAndSerial(cert) {
  const tbs = derChildren(expectTag(derChildren(expectTag(readTlv(cert.raw, 0), 0x30, 'Certificate'))[0], 0x30, 'TBSCertificate'));
  const i = tbs[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  return { serial: expectTag(tbs[i], 0x02, 'serialNumber').value, issuer: expectTag(tbs[i + 2], 0x30, 'issuer').raw };
}

const OID = Object.freeze({
  signedData: '2a864886f70d010702',
  data: '2a864886f70d010701',
  contentType: '2a864886f70d010903',
  messageDigest: '2a864886f70d010904',
  sha256: '608648016503040201',
  rsaEncryption: '2a864886f70d010101',
  sha256WithRSA: '2a864886f70d01010b',
});

function oidHex(tlv, what) {
  return expectTag(tlv, 0x06, what).value.toString('hex');
}

/**
 * Verifies a detached CMS SignedData (RFC 5652) over `content`, signed by `cert` with SHA-256 and
 * RSA PKCS#1 v1.5, with signed attributes — what `openssl cms -sign -binary` and the token produce.
 * @returns {{ ok: true } | { ok: false, message: string }}
 */
export function verifyCmsDetached(der, content, cert) {
  try {
    const ci = expectTag(readTlv(der, 0), 0x30, 'ContentInfo');
    if (ci.end !== der.length) throw new Error('trailing bytes after ContentInfo');
    const [ctype, explicit] = derChildren(ci);
    if (oidHex(ctype, 'contentType') !== OID.signedData) throw new Error('not a SignedData');
    const sd = expectTag(derChildren(expectTag(explicit, 0xa0, 'content'))[0], 0x30, 'SignedData');
    const parts = derChildren(sd);
    const encap = expectTag(parts[2], 0x30, 'EncapsulatedContentInfo');
    const encapParts = derChildren(encap);
    if (oidHex(encapParts[0], 'eContentType') !== OID.data) throw new Error('eContentType is not id-data');
    if (encapParts.length !== 1) throw new Error('signature is not detached');
    const signerInfos = expectTag(parts[parts.length - 1], 0x31, 'SignerInfos');
    const infos = derChildren(signerInfos);
    if (infos.length !== 1) throw new Error(`expected one SignerInfo, found ${infos.length}`);
    const si = derChildren(expectTag(infos[0], 0x30, 'SignerInfo'));
    let i = 1;
    const sid = si[i++];
    if (sid?.tag === 0x30) {
      // IssuerAndSerialNumber must name exactly the audit certificate (as openssl requires).
      const [issuer, serial] = derChildren(sid);
      const ours = certificateIssuerAndSerial(cert);
      if (!expectTag(issuer, 0x30, 'issuer').raw.equals(ours.issuer) || !expectTag(serial, 0x02, 'serialNumber').value.equals(ours.serial)) {
        throw new Error('the SignerInfo names another certificate');
      }
    } else if (sid?.tag !== 0x80) {
      throw new Error('unknown SignerIdentifier');
    }
    const digestAlg = derChildren(expectTag(si[i++], 0x30, 'digestAlgorithm'));
    if (oidHex(digestAlg[0], 'digestAlgorithm') !== OID.sha256) throw new Error('digest algorithm is not SHA-256');
    const signedAttrs = si[i++];
    if (!signedAttrs || signedAttrs.tag !== 0xa0) throw new Error('signed attributes are required');
    const sigAlg = derChildren(expectTag(si[i++], 0x30, 'signatureAlgorithm'));
    const sigAlgOid = oidHex(sigAlg[0], 'signatureAlgorithm');
    if (sigAlgOid !== OID.rsaEncryption && sigAlgOid !== OID.sha256WithRSA) throw new Error('signature algorithm is not RSA PKCS#1 v1.5');
    const signature = expectTag(si[i++], 0x04, 'signature').value;

    let contentTypeOk = false;
    let digest = null;
    for (const attr of derChildren(signedAttrs)) {
      const [type, values] = derChildren(expectTag(attr, 0x30, 'Attribute'));
      const t = oidHex(type, 'attrType');
      const vals = derChildren(expectTag(values, 0x31, 'attrValues'));
      if (t === OID.contentType) contentTypeOk = vals.length === 1 && oidHex(vals[0], 'contentType value') === OID.data;
      if (t === OID.messageDigest) {
        if (vals.length !== 1 || digest !== null) throw new Error('messageDigest must appear once');
        digest = expectTag(vals[0], 0x04, 'messageDigest').value;
      }
    }
    if (!contentTypeOk) throw new Error('contentType attribute missing or not id-data');
    if (digest === null) throw new Error('messageDigest attribute missing');
    if (!Buffer.from(digest).equals(createHash('sha256').update(content).digest())) {
      return { ok: false, message: 'the signed digest does not match the content (SHA256SUMS was changed after signing)' };
    }
    // The signature covers the DER of the attributes with the SET OF tag instead of [0] IMPLICIT.
    const toVerify = Buffer.concat([Buffer.from([0x31]), signedAttrs.raw.subarray(1)]);
    if (!cryptoVerify('sha256', toVerify, cert.publicKey, signature)) {
      return { ok: false, message: 'the CMS signature does not verify with the audit certificate' };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, message: `malformed CMS signature: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Bundle verification
// ---------------------------------------------------------------------------------------------

const SAFE_PATH_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const SUMS_LINE_RE = /^([0-9a-f]{64})  (.+)$/;

/** Parses SHA256SUMS as written by the appliance and read by `sha256sum -c`. */
export function parseSums(text) {
  const map = new Map();
  if (!text.endsWith('\n')) return { ok: false, message: 'SHA256SUMS must end with a newline' };
  for (const line of text.slice(0, -1).split('\n')) {
    const m = SUMS_LINE_RE.exec(line);
    if (!m || !SAFE_PATH_RE.test(m[2]) || m[2].split('/').some((s) => s === '..' || s === '.')) {
      return { ok: false, message: `bad SHA256SUMS line: ${JSON.stringify(line.slice(0, 120))}` };
    }
    if (map.has(m[2])) return { ok: false, message: `${m[2]} listed twice` };
    map.set(m[2], m[1]);
  }
  return { ok: true, value: map };
}

class Report {
  constructor() {
    /** @type {{ code: string, message: string }[]} */
    this.errors = [];
    /** @type {{ code: string, message: string }[]} */
    this.warnings = [];
    /** @type {string[]} */
    this.facts = [];
    /** @type {Record<string, unknown>} */
    this.summary = {};
  }
  error(code, message) {
    this.errors.push({ code, message });
  }
  warn(code, message) {
    this.warnings.push({ code, message });
  }
  fact(message) {
    this.facts.push(message);
  }
  toJSON() {
    return { ok: this.errors.length === 0, errors: this.errors, warnings: this.warnings, facts: this.facts, summary: this.summary };
  }
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, name.name);
      if (name.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Verifies an export bundle directory.
 * @param {string} dir
 * @param {{ trustAnchorSha256?: string[], previous?: string }} [options]
 * @returns {Promise<{ ok: boolean, errors: {code: string, message: string}[], warnings: {code: string, message: string}[], facts: string[], summary: Record<string, unknown> }>}
 */
export async function verifyBundle(dir, options = {}) {
  const r = new Report();
  try {
    await verifyInto(dir, options, r);
  } catch (e) {
    r.error('BUNDLE_FORMAT_ERROR', `unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
  }
  return r.toJSON();
}

async function verifyInto(dir, options, r) {
  let st;
  try {
    st = statSync(dir);
  } catch {
    r.error('BUNDLE_FILE_MISSING', `${dir} does not exist`);
    return;
  }
  if (!st.isDirectory()) {
    r.error('USAGE_ERROR', `${dir} is not a directory`);
    return;
  }

  // 1. SHA256SUMS and its detached signature.
  const sumsBytes = readSmall(dir, 'SHA256SUMS', r);
  const p7s = readSmall(dir, 'SHA256SUMS.p7s', r);
  if (!sumsBytes || !p7s) return;
  const sums = parseSums(sumsBytes.toString('utf8'));
  if (!sums.ok) {
    r.error('BUNDLE_FORMAT_ERROR', sums.message);
    return;
  }
  const listed = sums.value;
  const present = listFiles(dir).filter((f) => f !== 'SHA256SUMS' && f !== 'SHA256SUMS.p7s');
  for (const f of present) if (!listed.has(f)) r.warn('BUNDLE_UNLISTED_FILE', `${f} is not listed in SHA256SUMS and was ignored`);

  /** Digests are checked whenever a file is read, so everything interpreted below is covered. */
  const checked = new Set();
  const readListed = (name) => {
    const want = listed.get(name);
    if (want === undefined) {
      r.error('BUNDLE_FILE_MISSING', `${name} is not listed in SHA256SUMS`);
      return undefined;
    }
    const bytes = readSmall(dir, name, r);
    if (!bytes) return undefined;
    checked.add(name);
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== want) {
      r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS (${want})`);
      return undefined;
    }
    return bytes;
  };
  const readJson = (name) => {
    const bytes = readListed(name);
    if (!bytes) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      r.error('BUNDLE_FORMAT_ERROR', `${name} is not valid JSON`);
      return undefined;
    }
  };

  /** Large files are streamed; their digest is compared when the reader is finished. */
  const openListed = (name) => {
    const want = listed.get(name);
    if (want === undefined) {
      r.error('BUNDLE_FILE_MISSING', `${name} is not listed in SHA256SUMS`);
      return undefined;
    }
    let reader;
    try {
      reader = new LineReader(join(dir, name), name, r);
    } catch {
      r.error('BUNDLE_FILE_MISSING', `${name} is missing`);
      return undefined;
    }
    checked.add(name);
    return {
      get lineNo() {
        return reader.lineNo;
      },
      next: () => reader.next(),
      finish: () => {
        const got = reader.finish();
        if (got !== want) r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS (${want})`);
      },
    };
  };

  // 2. Certificates.
  const signersDoc = readJson('certs/signers.json');
  const auditPem = readListed('certs/audit.pem');
  if (!signersDoc || !auditPem) return;
  /** @type {Map<string, X509Certificate>} */
  const signers = new Map();
  const anchors = new Set();
  if (!Array.isArray(signersDoc) || signersDoc.length === 0 || signersDoc.length > 100) {
    r.error('BUNDLE_FORMAT_ERROR', 'certs/signers.json must be a non-empty array');
    return;
  }
  for (const s of signersDoc) {
    try {
      if (typeof s?.certificate !== 'string' || !Array.isArray(s.chain) || !s.chain.every((c) => typeof c === 'string')) throw new Error('bad entry');
      const [cert] = parsePemCertificates(s.certificate);
      if (!cert) throw new Error('no certificate');
      const chain = s.chain.flatMap((c) => parsePemCertificates(c));
      const fp = certificateSha256(cert);
      const res = verifyCertificateChain(cert, chain);
      if (!res.ok) {
        r.error('CERTIFICATE_CHAIN_ERROR', `${cert.subject}: ${res.message}`);
        continue;
      }
      signers.set(fp, cert);
      const anchorFp = certificateSha256(res.anchor);
      anchors.add(anchorFp);
      r.fact(`audit certificate ${colonHex(fp)} (${oneLine(cert.subject)}) chains to trust anchor ${oneLine(res.anchor.subject)}`);
    } catch (e) {
      r.error('CERTIFICATE_ERROR', `certs/signers.json: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let auditCert;
  try {
    auditCert = parsePemCertificates(auditPem.toString('utf8'))[0];
  } catch {
    auditCert = undefined;
  }
  if (!auditCert) {
    r.error('CERTIFICATE_ERROR', 'certs/audit.pem holds no certificate');
    return;
  }
  const auditFp = certificateSha256(auditCert);
  if (!signers.has(auditFp)) r.error('CERTIFICATE_ERROR', 'certs/audit.pem is not among the verified audit certificates in certs/signers.json');
  r.summary.trustAnchorsSha256 = [...anchors];
  for (const a of anchors) r.fact(`TRUST ANCHOR SHA-256 FINGERPRINT: ${colonHex(a)}  <- compare with the value obtained out of band`);
  const pinned = (options.trustAnchorSha256 ?? []).map((h) => h.replace(/:/g, '').toLowerCase());
  if (pinned.length > 0) {
    for (const a of anchors) {
      if (!pinned.includes(a)) r.error('TRUST_ANCHOR_MISMATCH', `trust anchor ${colonHex(a)} is not one of the fingerprints given`);
    }
  } else {
    r.warn('TRUST_ANCHOR_MISMATCH', 'no --trust-anchor-sha256 given: the signatures prove integrity only if the trust anchor fingerprint above matches the one obtained out of band');
  }

  const cms = verifyCmsDetached(p7s, sumsBytes, auditCert);
  if (!cms.ok) r.error('SUMS_SIGNATURE_ERROR', `SHA256SUMS.p7s: ${cms.message}`);
  else r.fact(`SHA256SUMS is signed by the audit certificate ${colonHex(auditFp)}`);

  // 3. Manifest.
  const manifest = readJson('manifest.json');
  if (!manifest) return;
  if (manifest.format !== BUNDLE_FORMAT) {
    r.error('BUNDLE_FORMAT_ERROR', `manifest.json: format must be ${BUNDLE_FORMAT}`);
    return;
  }
  const m = checkManifest(manifest);
  if (!m.ok) {
    r.error('BUNDLE_FORMAT_ERROR', `manifest.json: ${m.message}`);
    return;
  }
  r.summary.exportId = manifest.exportId;
  r.summary.createdAt = manifest.createdAt;
  r.summary.origin = manifest.origin;
  r.summary.filters = manifest.filters;
  r.fact(`export ${manifest.exportId} of ${manifest.origin}, created ${manifest.createdAt}, filters ${JSON.stringify(manifest.filters)}`);

  // 4. Checkpoints: format, signature, origin.
  /** @type {Map<string, any>} */
  const cps = new Map();
  for (const file of manifest.checkpoints) {
    const body = readListed(file);
    const sig = readListed(file.replace(/\.txt$/, '.sig'));
    if (!body || !sig) continue;
    const p = parseCheckpoint(body.toString('utf8'));
    if (!p.ok) {
      r.error('CHECKPOINT_FORMAT_ERROR', `${file}: ${p.message}`);
      continue;
    }
    const cert = signers.get(p.value.signer);
    if (!cert) {
      r.error('CHECKPOINT_SIGNATURE_ERROR', `${file}: signed by certificate ${p.value.signer}, which is not among the verified audit certificates`);
      continue;
    }
    if (!verifyRawSignature(cert, p.value.body, sig)) {
      r.error('CHECKPOINT_SIGNATURE_ERROR', `${file}: the signature does not verify`);
      continue;
    }
    if (p.value.origin !== manifest.origin) {
      r.error('CHECKPOINT_FORMAT_ERROR', `${file}: origin ${p.value.origin} is not the bundle's origin ${manifest.origin}`);
      continue;
    }
    cps.set(file, p.value);
  }

  // 5. Deletion records: their final heads are signed checkpoints too.
  /** @type {Map<string, any>} period → final head of a deleted period */
  const deletedFinals = new Map();
  const delBytes = readListed('deletions.jsonl');
  if (delBytes) {
    const text = delBytes.toString('utf8');
    const lines = text === '' ? [] : text.endsWith('\n') ? text.slice(0, -1).split('\n') : null;
    if (lines === null) r.error('DELETION_RECORD_ERROR', 'deletions.jsonl must end with a newline');
    for (const [n, line] of (lines ?? []).entries()) {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1} is not JSON`);
        continue;
      }
      const p = typeof rec?.finalHead === 'string' ? parseCheckpoint(rec.finalHead) : { ok: false, message: 'finalHead missing' };
      if (!p.ok) {
        r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: ${p.message}`);
        continue;
      }
      const cert = signers.get(p.value.signer);
      const sig = typeof rec.finalHeadSignature === 'string' ? Buffer.from(rec.finalHeadSignature, 'base64') : Buffer.alloc(0);
      if (!cert || !verifyRawSignature(cert, p.value.body, sig)) {
        r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: the final head's signature does not verify`);
        continue;
      }
      if (rec.period !== p.value.period || !p.value.final || p.value.origin !== manifest.origin) {
        r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: the record does not carry the final head of period ${rec.period}`);
        continue;
      }
      if (typeof rec.deletedAt !== 'string' || !TIME_RE.test(rec.deletedAt)) {
        r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: bad deletedAt`);
        continue;
      }
      deletedFinals.set(p.value.period, p.value);
      r.fact(`period ${rec.period} (${p.value.size} entries, final root ${p.value.root.toString('hex').slice(0, 16)}…) was deleted at ${rec.deletedAt} under the retention rule`);
    }
  }

  // 6. The chain of periods, from the anchor back to chainFrom.
  const anchor = cps.get(manifest.anchor);
  if (!anchor) {
    r.error('CHECKPOINT_CHAIN_ERROR', `the anchor checkpoint ${manifest.anchor} is missing or invalid`);
    return;
  }
  /** @type {Map<string, any>} period → final head */
  const finals = new Map(deletedFinals);
  for (const cp of cps.values()) {
    if (!cp.final) continue;
    const other = finals.get(cp.period);
    if (other && other.hash !== cp.hash) r.error('CHECKPOINT_CHAIN_ERROR', `two different final heads for period ${cp.period}`);
    finals.set(cp.period, cp);
  }
  /** @type {Map<string, any>} period → the checkpoint of that period that is on the chain */
  const onChain = new Map([[anchor.period, anchor]]);
  let cur = anchor;
  let chainOk = true;
  while (cur.previousPeriod !== null && cur.previousPeriod >= manifest.chainFrom) {
    const prev = finals.get(cur.previousPeriod);
    if (!prev) {
      r.error('CHECKPOINT_CHAIN_ERROR', `period ${cur.period} links to period ${cur.previousPeriod}, whose final head is not in the bundle`);
      chainOk = false;
      break;
    }
    if (prev.hash !== cur.previousFinalHead) {
      r.error('CHECKPOINT_CHAIN_ERROR', `period ${cur.period} links to a final head of ${cur.previousPeriod} other than the one in the bundle`);
      chainOk = false;
      break;
    }
    onChain.set(prev.period, prev);
    cur = prev;
  }
  if (chainOk) r.fact(`checkpoints chain through ${onChain.size} period(s) (${[...onChain.keys()].sort().join(', ')}) to the anchor ${anchor.period} size ${anchor.size}`);
  for (const cp of cps.values()) {
    if (cp.final && cp.previousPeriod !== null) {
      const prev = finals.get(cp.previousPeriod);
      if (prev && prev.hash !== cp.previousFinalHead) r.error('CHECKPOINT_CHAIN_ERROR', `${cp.period}'s final head links to another head of ${cp.previousPeriod}`);
    }
  }
  r.summary.anchor = { period: anchor.period, size: anchor.size, root: anchor.root.toString('hex'), time: anchor.time };

  // 7. Periods and entries.
  /** @type {Map<string, { checkpoint: any, coverage: string, entries: number, seen: number, builder: TreeBuilder | null, next: number }>} */
  const periods = new Map();
  for (const p of manifest.periods) {
    const cp = cps.get(p.checkpoint);
    if (!cp || cp.period !== p.period) {
      r.error('CHECKPOINT_CHAIN_ERROR', `period ${p.period}: checkpoint ${p.checkpoint} missing, invalid or of another period`);
      continue;
    }
    if (onChain.get(p.period) !== cp) {
      r.error('CHECKPOINT_CHAIN_ERROR', `period ${p.period}: its checkpoint is not on the chain that ends at the anchor`);
      continue;
    }
    periods.set(p.period, { checkpoint: cp, coverage: p.coverage, entries: p.entries, seen: 0, builder: p.coverage === 'complete' ? new TreeBuilder() : null, next: 0 });
  }

  const inclusion = openListed('proofs/inclusion.jsonl');
  const entries = openListed('entries.jsonl');
  let entryCount = 0;
  let proofsNeeded = 0;
  let proofsChecked = 0;
  let last = null;
  if (entries) {
    for (let line = entries.next(); line !== null; line = entries.next()) {
      const lineNo = entries.lineNo;
      entryCount++;
      let entry;
      try {
        entry = JSON.parse(line.toString('utf8'));
      } catch {
        r.error('ENTRY_FORMAT_ERROR', `entries.jsonl line ${lineNo} is not JSON`);
        continue;
      }
      const shape = checkEntryShape(entry);
      if (shape) {
        r.error('ENTRY_FORMAT_ERROR', `entries.jsonl line ${lineNo}: ${shape}`);
        continue;
      }
      if (last && (entry.period < last.period || (entry.period === last.period && entry.leafIndex <= last.leafIndex))) {
        r.error('ENTRY_ORDER_ERROR', `entries.jsonl line ${lineNo}: entries must be in log order (period, leafIndex ascending, no duplicates)`);
      }
      last = entry;
      const per = periods.get(entry.period);
      if (!per) {
        r.error('ENTRY_FORMAT_ERROR', `entries.jsonl line ${lineNo}: period ${entry.period} is not described by the manifest`);
        continue;
      }
      per.seen++;
      const lh = leafHash(line);
      if (per.builder) {
        if (entry.leafIndex !== per.next) {
          r.error('COMPLETENESS_ERROR', `period ${entry.period} is declared complete but entry ${per.next} is missing before line ${lineNo}`);
          per.builder = null;
        } else {
          per.builder.push(lh);
          per.next++;
        }
      }
      if (per.coverage === 'partial' || manifest.proofMode === 'each') {
        proofsNeeded++;
        const proofLine = inclusion ? inclusion.next() : null;
        const res = checkInclusionLine(proofLine ?? undefined, entry, lh, per.checkpoint, cps);
        if (res) r.error('INCLUSION_PROOF_ERROR', `entries.jsonl line ${lineNo} (period ${entry.period}, leaf ${entry.leafIndex}): ${res}`);
        else proofsChecked++;
      }
    }
    entries.finish();
  }
  if (inclusion) {
    let extra = 0;
    while (inclusion.next() !== null) extra++;
    if (extra > 0) r.error('INCLUSION_PROOF_ERROR', `proofs/inclusion.jsonl has ${extra} more proofs than the ${proofsNeeded} entries that need one`);
    inclusion.finish();
  }
  if (entryCount !== manifest.entryCount) r.error('ENTRY_COUNT_MISMATCH', `entries.jsonl has ${entryCount} entries, the manifest says ${manifest.entryCount}`);
  for (const [period, per] of periods) {
    if (per.seen !== per.entries) r.error('ENTRY_COUNT_MISMATCH', `period ${period}: ${per.seen} entries, the manifest says ${per.entries}`);
    if (per.builder) {
      if (per.next !== per.checkpoint.size) r.error('COMPLETENESS_ERROR', `period ${period} is declared complete with ${per.checkpoint.size} entries but ${per.next} are present`);
      else if (!per.builder.root().equals(per.checkpoint.root)) r.error('COMPLETENESS_ERROR', `period ${period}: the tree recomputed from the entries does not match the signed root`);
      else r.fact(`period ${period}: all ${per.next} entries present; the tree recomputed from them matches the signed root`);
    }
  }
  r.summary.entries = entryCount;
  r.fact(`${entryCount} entries read; ${proofsChecked} inclusion proofs checked`);

  // 8. The export's own audit entry, proven against the anchor.
  const evLines = readLines(readListed('export-event.jsonl'), 'export-event.jsonl', r);
  const evProof = readJson('proofs/export-event.json');
  if (evLines && evProof) {
    const line = evLines[0];
    let ev;
    try {
      ev = evLines.length === 1 && line !== undefined ? JSON.parse(line.toString('utf8')) : undefined;
    } catch {
      ev = undefined;
    }
    if (!ev || checkEntryShape(ev) || ev.event.kind !== 'admin' || ev.event.action !== 'export' || ev.event.details?.exportId !== manifest.exportId) {
      r.error('EXPORT_EVENT_ERROR', 'export-event.jsonl must hold the one audit entry that records this export');
    } else {
      const res = checkInclusionLine(Buffer.from(JSON.stringify(evProof)), ev, leafHash(line), anchor, cps);
      if (res) r.error('EXPORT_EVENT_ERROR', `the export's own audit entry: ${res}`);
      else r.fact(`this export is itself recorded in the log (entry ${ev.index}, by ${ev.event.actor})`);
    }
  }

  // 9. Consistency with the previous export.
  const consistency = readJson('proofs/consistency.json');
  if (consistency !== undefined) {
    if (!Array.isArray(consistency)) r.error('BUNDLE_FORMAT_ERROR', 'proofs/consistency.json must be an array');
    else {
      for (const [n, c] of consistency.entries()) {
        const from = cps.get(c?.from);
        const to = cps.get(c?.to);
        const path = parseHashList(c?.path);
        if (!from || !to || !path || from.period !== to.period) {
          r.error('CONSISTENCY_PROOF_ERROR', `proofs/consistency.json item ${n + 1}: unknown checkpoints or bad path`);
          continue;
        }
        if (!verifyConsistency(from.size, to.size, from.root, to.root, path)) {
          r.error('CONSISTENCY_PROOF_ERROR', `${c.from} (size ${from.size}) is not a prefix of ${c.to} (size ${to.size}): the log was rewritten`);
          continue;
        }
        r.fact(`consistency: period ${from.period} size ${from.size} → size ${to.size} verified`);
      }
    }
  }
  if (manifest.previousAnchor !== null) {
    const prev = cps.get(manifest.previousAnchor);
    if (!prev) r.error('CONSISTENCY_PROOF_ERROR', `the previous export's checkpoint ${manifest.previousAnchor} is missing or invalid`);
    else {
      const target = onChain.get(prev.period);
      const proven = target === prev || (Array.isArray(consistency) && consistency.some((c) => c?.from === manifest.previousAnchor && cps.get(c?.to) === target));
      if (deletedFinals.has(prev.period) && target === deletedFinals.get(prev.period)) {
        r.warn('PREVIOUS_ANCHOR_PERIOD_DELETED', `the previous export's period ${prev.period} has since been deleted under the retention rule; its consistency can no longer be proven, only its signed final head`);
      } else if (!target || !proven) {
        r.error('CONSISTENCY_PROOF_ERROR', `no verified consistency proof from the previous export's checkpoint (${prev.period} size ${prev.size}) to this export's chain`);
      } else {
        r.fact(`the previous export's checkpoint (${prev.period} size ${prev.size}) is consistent with this export: nothing was rewritten in between`);
      }
      if (options.previous) comparePrevious(options.previous, prev, r);
    }
  } else if (options.previous) {
    r.error('PREVIOUS_EXPORT_MISMATCH', 'this bundle names no previous export, but --previous was given');
  }

  // 10. Every other listed file's digest (CSV, officers list, VERIFY.txt, this verifier…).
  for (const name of listed.keys()) {
    if (checked.has(name)) continue;
    const got = hashFile(join(dir, name));
    if (got === undefined) r.error('BUNDLE_FILE_MISSING', `${name} is listed in SHA256SUMS but missing`);
    else if (got !== listed.get(name)) r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS`);
  }
}

function comparePrevious(previousDir, prev, r) {
  try {
    const oldManifest = JSON.parse(readFileSync(join(previousDir, 'manifest.json'), 'utf8'));
    const oldAnchor = readFileSync(join(previousDir, String(oldManifest.anchor)));
    if (!oldAnchor.equals(prev.body)) {
      r.error('PREVIOUS_EXPORT_MISMATCH', `the previous export in ${previousDir} shows another checkpoint than the one this export continues from`);
    } else {
      r.fact(`the previous export in ${previousDir} shows exactly the checkpoint this export continues from`);
    }
  } catch (e) {
    r.error('PREVIOUS_EXPORT_MISMATCH', `cannot read the previous export: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function oneLine(s) {
  return String(s).replace(/\n/g, ', ');
}

function checkManifest(m) {
  const isStr = (v) => typeof v === 'string' && v.length > 0 && v.length < 1000;
  const isCp = (v) => isStr(v) && SAFE_PATH_RE.test(v) && v.startsWith('checkpoints/') && v.endsWith('.txt');
  if (!isStr(m.exportId) || !isStr(m.origin) || !isStr(m.createdAt)) return { ok: false, message: 'exportId, origin, createdAt required' };
  if (!Number.isSafeInteger(m.entryCount) || m.entryCount < 0) return { ok: false, message: 'bad entryCount' };
  if (m.proofMode !== 'auto' && m.proofMode !== 'each') return { ok: false, message: 'bad proofMode' };
  if (!Array.isArray(m.checkpoints) || !m.checkpoints.every(isCp)) return { ok: false, message: 'bad checkpoints list' };
  if (!isCp(m.anchor) || !m.checkpoints.includes(m.anchor)) return { ok: false, message: 'bad anchor' };
  if (m.previousAnchor !== null && (!isCp(m.previousAnchor) || !m.checkpoints.includes(m.previousAnchor))) return { ok: false, message: 'bad previousAnchor' };
  if (!PERIOD_RE.test(m.chainFrom)) return { ok: false, message: 'bad chainFrom' };
  if (!Array.isArray(m.periods)) return { ok: false, message: 'bad periods' };
  for (const p of m.periods) {
    if (!PERIOD_RE.test(p?.period) || !isCp(p.checkpoint) || !m.checkpoints.includes(p.checkpoint)) return { ok: false, message: 'bad period item' };
    if (p.coverage !== 'complete' && p.coverage !== 'partial') return { ok: false, message: 'bad coverage' };
    if (!Number.isSafeInteger(p.entries) || p.entries < 0) return { ok: false, message: 'bad period entry count' };
    if (p.period < m.chainFrom) return { ok: false, message: 'period before chainFrom' };
  }
  return { ok: true };
}

/** Returns a message when the entry is not shaped like an audit log leaf. */
function checkEntryShape(e) {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not an object';
  if (e.v !== 1) return 'unknown entry version';
  if (!Number.isSafeInteger(e.index) || e.index < 0) return 'bad index';
  if (!Number.isSafeInteger(e.leafIndex) || e.leafIndex < 0) return 'bad leafIndex';
  if (typeof e.period !== 'string' || !PERIOD_RE.test(e.period)) return 'bad period';
  if (typeof e.recordedAt !== 'string' || !TIME_RE.test(e.recordedAt)) return 'bad recordedAt';
  if (typeof e.event !== 'object' || e.event === null || typeof e.event.kind !== 'string') return 'bad event';
  return null;
}

function parseHashList(list) {
  if (!Array.isArray(list) || list.length > LIMITS.maxProofHashes) return undefined;
  const out = [];
  for (const h of list) {
    if (typeof h !== 'string' || !HEX64_RE.test(h)) return undefined;
    out.push(Buffer.from(h, 'hex'));
  }
  return out;
}

/** Checks one inclusion-proof line against an entry and its period's checkpoint; returns a message on failure. */
function checkInclusionLine(line, entry, lh, checkpoint, cps) {
  if (line === undefined) return 'no inclusion proof';
  let p;
  try {
    p = JSON.parse(line.toString('utf8'));
  } catch {
    return 'the proof line is not JSON';
  }
  if (p?.period !== entry.period || p?.leafIndex !== entry.leafIndex) return 'the proof is for another entry (entries reordered or removed?)';
  const cp = cps.get(p.checkpoint);
  if (cp !== checkpoint) return `the proof refers to ${p.checkpoint}, not the period's checkpoint`;
  if (p.treeSize !== cp.size) return 'the proof is for another tree size';
  const path = parseHashList(p.path);
  if (!path) return 'bad proof path';
  if (!verifyInclusion(lh, entry.leafIndex, cp.size, path, cp.root)) return 'the entry is not in the signed tree (altered?)';
  return null;
}

function readSmall(dir, name, r) {
  try {
    const p = join(dir, name);
    const st = statSync(p);
    if (!st.isFile()) throw new Error('not a file');
    if (st.size > LIMITS.maxSmallFileBytes) {
      r.error('BUNDLE_FORMAT_ERROR', `${name} is larger than expected`);
      return undefined;
    }
    return readFileSync(p);
  } catch {
    r.error('BUNDLE_FILE_MISSING', `${name} is missing`);
    return undefined;
  }
}

/** Splits a verified JSON Lines file into line buffers (every line ends with \n, none is empty). */
function readLines(bytes, name, r) {
  if (bytes === undefined) return undefined;
  if (bytes.length === 0) return [];
  if (bytes[bytes.length - 1] !== 0x0a) {
    r.error('BUNDLE_FORMAT_ERROR', `${name} must end with a newline`);
    return undefined;
  }
  const out = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      if (i === start) {
        r.error('BUNDLE_FORMAT_ERROR', `${name} has an empty line`);
        return undefined;
      }
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/**
 * Reads a (possibly very large) JSON Lines file line by line, synchronously, hashing every byte it
 * reads. Lines are returned as their exact bytes (no re-encoding, no CR stripping), so the leaf
 * hash is computed over what is on the disk.
 */
class LineReader {
  constructor(path, name, r) {
    this.fd = openSync(path, 'r');
    this.name = name;
    this.r = r;
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.eof = false;
    this.lineNo = 0;
    this.hash = createHash('sha256');
    this.chunk = Buffer.allocUnsafe(1 << 20);
  }
  /** @returns {Buffer | null} the next non-empty line, or null at the end */
  next() {
    for (;;) {
      const i = this.buf.indexOf(0x0a, this.pos);
      if (i !== -1) {
        const line = this.buf.subarray(this.pos, i);
        this.pos = i + 1;
        this.lineNo++;
        if (line.length === 0) {
          this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} line ${this.lineNo} is empty`);
          continue;
        }
        return line;
      }
      if (this.eof) {
        if (this.pos < this.buf.length) {
          this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} does not end with a newline (truncated?)`);
          this.pos = this.buf.length;
        }
        return null;
      }
      if (this.buf.length - this.pos > LIMITS.maxLineBytes) {
        this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} line ${this.lineNo + 1} is longer than ${LIMITS.maxLineBytes} bytes`);
        this.pos = this.buf.length;
        this.drain();
        return null;
      }
      this.fill();
    }
  }
  fill() {
    const n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
    if (n === 0) {
      this.eof = true;
      return;
    }
    const data = this.chunk.subarray(0, n);
    this.hash.update(data);
    this.buf = Buffer.concat([this.buf.subarray(this.pos), data]);
    this.pos = 0;
  }
  drain() {
    while (!this.eof) this.fill();
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }
  /** Reads whatever is left (for the digest), closes the file and returns the SHA-256 hex digest. */
  finish() {
    this.drain();
    closeSync(this.fd);
    return this.hash.digest('hex');
  }
}

function hashFile(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const h = createHash('sha256');
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, chunk, 0, chunk.length, null); n > 0; n = readSync(fd, chunk, 0, chunk.length, null)) {
      h.update(chunk.subarray(0, n));
    }
    return h.digest('hex');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: node verify-audit.mjs <bundle-dir> [--trust-anchor-sha256 <hex>]... [--previous <older-bundle-dir>] [--json]

Checks an audit export bundle of the Prüm gateway offline: digests, the CMS signature over
SHA256SUMS, the certificate chain, the signed checkpoints and their chain across periods,
inclusion proofs for every entry, consistency with the previous export, deletion records.
Exit status: 0 valid, 1 invalid, 2 usage error.
`;

/**
 * @param {string[]} argv arguments after the script name
 * @param {{ stdout: { write(s: string): unknown }, stderr: { write(s: string): unknown } }} io
 * @returns {Promise<number>} exit status
 */
export async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  let dir;
  let json = false;
  let previous;
  const anchors = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      io.stdout.write(USAGE);
      return 0;
    } else if (a === '--json') json = true;
    else if (a === '--previous' && argv[i + 1] !== undefined) previous = argv[++i];
    else if (a === '--trust-anchor-sha256' && argv[i + 1] !== undefined) {
      const v = String(argv[++i]).replace(/:/g, '').toLowerCase();
      if (!HEX64_RE.test(v)) {
        io.stderr.write('--trust-anchor-sha256 needs 64 hex digits (colons allowed)\n');
        return 2;
      }
      anchors.push(v);
    } else if (!a.startsWith('--') && dir === undefined) dir = a;
    else {
      io.stderr.write(USAGE);
      return 2;
    }
  }
  if (dir === undefined) {
    io.stderr.write(USAGE);
    return 2;
  }
  const report = await verifyBundle(dir, { trustAnchorSha256: anchors, previous });
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(formatReport(dir, report));
  return report.ok ? 0 : 1;
}

export function formatReport(dir, report) {
  const lines = [`Audit export bundle: ${dir}`];
  for (const f of report.facts) lines.push(`  ok    ${f}`);
  for (const w of report.warnings) lines.push(`  NOTE  [${w.code}] ${w.message}`);
  for (const e of report.errors) lines.push(`  FAIL  [${e.code}] ${e.message}`);
  lines.push(report.ok ? 'RESULT: VALID — the bundle is intact and consistent.' : `RESULT: INVALID — ${report.errors.length} problem(s) found.`);
  return `${lines.join('\n')}\n`;
}

function invokedDirectly() {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`verify-audit: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
