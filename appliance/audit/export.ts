import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CHANNELS, MEMBER_STATES, type Channel, type MemberStateCode } from '../peers/member-states.js';
import { AuditError, fail, ok, type Outcome } from './errors.js';
import type { AuditEvent } from './events.js';
import { inclusionPath, type NodeSource } from './merkle.js';
import type { AuditLeaf, AuditLog, EntryQuery, SignedCheckpoint, SignerRecord } from './log.js';
import type { OfficerRegistry } from './officers.js';
import { csvLine } from '../util/csv.js';
import type { AuditSigner } from './signer.js';
import { BUNDLE_FORMAT, parseCheckpoint } from './verify-audit.mjs';
import { verifierFile } from './verify/artifact.js';

/**
 * The export bundle an auditor or the data-protection authority carries away (Art. 30(3)):
 * entries, proofs and signatures that can be checked offline with openssl, sha256sum and the
 * bundled verify-audit.mjs. See docs/audit.md for the layout and the reasoning.
 */

export interface ExportFilters {
  from: Date;
  /** Exclusive. */
  to: Date;
  state?: MemberStateCode;
  channel?: Channel;
  officerId?: string;
  referenceNumber?: string;
}

export type ExportPhase = 'collecting' | 'writing' | 'signing' | 'verifying' | 'done' | 'failed';

export interface ExportProgress {
  phase: ExportPhase;
  done: number;
  total: number;
}

export interface ExportOptions {
  filters: ExportFilters;
  /** Who asked for the export (console account or CLI user); recorded in the log. */
  actor: string;
  signer: AuditSigner;
  /** When given, the list of authorised officers is included (Art. 30(2)(a)). */
  officers?: OfficerRegistry;
  /**
   * 'auto' (default): an inclusion proof for each entry of a period exported in part; a period
   * exported in full is proven by recomputing its whole tree, which also proves nothing is missing.
   * 'each': an inclusion proof for every entry regardless.
   */
  proofs?: 'auto' | 'each';
  /** Where it goes, for the record (e.g. "directory /srv/x", "device /dev/sdb1"). */
  destination?: string;
  onProgress?: (progress: ExportProgress) => void;
}

export interface ExportResult {
  exportId: string;
  dir: string;
  entries: number;
  /** Every file of the bundle, relative to dir. */
  files: string[];
  bytes: number;
  /** SHA-256 of SHA256SUMS. */
  sumsSha256: string;
  anchor: SignedCheckpoint;
  /** SHA-256 fingerprints of the trust anchors, for out-of-band comparison. */
  trustAnchorsSha256: string[];
}

const PAGE = 5000;
/** Above this many proofs in one period, load the period's tree into memory once. */
const MEMORY_TREE_THRESHOLD = 64;
const ID_RE = /^[A-Za-z0-9._@/:-]{1,128}$/;

export function validateFilters(f: ExportFilters): AuditError | null {
  if (!(f.from instanceof Date) || Number.isNaN(f.from.getTime()) || !(f.to instanceof Date) || Number.isNaN(f.to.getTime())) {
    return new AuditError('FILTER_INVALID', 'from and to must be valid instants');
  }
  if (f.from >= f.to) return new AuditError('FILTER_INVALID', 'from must be before to');
  if (f.state !== undefined && !(MEMBER_STATES as readonly string[]).includes(f.state)) return new AuditError('FILTER_INVALID', `unknown Member State ${f.state}`);
  if (f.channel !== undefined && !(CHANNELS as readonly string[]).includes(f.channel)) return new AuditError('FILTER_INVALID', `channel must be one of ${CHANNELS.join(', ')}`);
  if (f.officerId !== undefined && !ID_RE.test(f.officerId)) return new AuditError('FILTER_INVALID', 'bad officer id');
  if (f.referenceNumber !== undefined && (f.referenceNumber.length === 0 || f.referenceNumber.length > 128)) return new AuditError('FILTER_INVALID', 'bad reference number');
  return null;
}

/**
 * Writes a signed export bundle into `outDir` (created if missing; must be empty if present).
 * The export is itself recorded in the log before the anchor checkpoint is signed, so the bundle
 * proves that its own export was logged.
 */
export async function exportBundle(log: AuditLog, outDir: string, options: ExportOptions): Promise<Outcome<ExportResult>> {
  const bad = validateFilters(options.filters);
  if (bad) return { ok: false, error: bad };
  const prepared = await prepareDir(outDir);
  if (!prepared.ok) return prepared;
  const progress = options.onProgress ?? (() => undefined);
  const exportId = randomUUID();
  return log.exclusive(async () => {
    const f = options.filters;
    const now = log.now();
    const proofMode = options.proofs ?? 'auto';
    const filterRecord = {
      from: f.from.toISOString(),
      to: f.to.toISOString(),
      state: f.state ?? null,
      channel: f.channel ?? null,
      officer: f.officerId ?? null,
      reference: f.referenceNumber ?? null,
    };
    const exportEvent = log.append({
      kind: 'admin',
      action: 'export',
      actor: options.actor,
      target: `bundle ${exportId}`,
      occurredAt: now.toISOString(),
      outcome: 'success',
      details: { exportId, ...filterRecord, proofMode, destination: options.destination ?? `directory ${outDir}` },
    });
    try {
      const result = await writeBundle(log, outDir, options, { exportId, now, proofMode, filterRecord, exportIndex: exportEvent.index, progress });
      progress({ phase: 'done', done: result.entries, total: result.entries });
      return ok(result);
    } catch (e) {
      progress({ phase: 'failed', done: 0, total: 0 });
      const err = e instanceof AuditError ? e : new AuditError('EXPORT_WRITE_FAILED', `export failed: ${e instanceof Error ? e.message : String(e)}`);
      try {
        log.append({
          kind: 'admin',
          action: 'export',
          actor: options.actor,
          target: `bundle ${exportId}`,
          occurredAt: log.now().toISOString(),
          outcome: 'failure',
          details: { exportId, error: err.code },
        });
      } catch {
        // The failure itself is what the caller needs to see.
      }
      return { ok: false, error: err };
    }
  });
}

async function prepareDir(dir: string): Promise<Outcome<void>> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory() || (await readdir(dir)).length > 0) return fail('EXPORT_TARGET_NOT_EMPTY', `${dir} exists and is not an empty directory`);
  } catch {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      return fail('EXPORT_WRITE_FAILED', `cannot create ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return ok(undefined);
}

interface BundleContext {
  exportId: string;
  now: Date;
  proofMode: 'auto' | 'each';
  filterRecord: Record<string, string | null>;
  exportIndex: number;
  progress: (p: ExportProgress) => void;
}

/** Writes files while hashing them; every file ends up in SHA256SUMS. */
class BundleWriter {
  readonly digests = new Map<string, string>();
  bytes = 0;
  constructor(readonly dir: string) {}

  async file(rel: string, data: string | Uint8Array): Promise<void> {
    const out = await this.open(rel);
    await out.write(data);
    await out.close();
  }

  async open(rel: string): Promise<{ write(data: string | Uint8Array): Promise<void>; close(): Promise<void> }> {
    const path = join(this.dir, ...rel.split('/'));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const fh: FileHandle = await open(path, 'wx', 0o600);
    const hash = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const buf = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await fh.write(buf, 0, buf.length);
    };
    return {
      write: async (data) => {
        const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
        hash.update(b);
        this.bytes += b.length;
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= 1 << 20) await flush();
      },
      close: async () => {
        await flush();
        await fh.sync();
        await fh.close();
        this.digests.set(rel, hash.digest('hex'));
      },
    };
  }
}

function checkpointFile(cp: { period: string; size: number; hash: string }): string {
  return `checkpoints/${cp.period}-${cp.size}-${cp.hash.slice(0, 12)}.txt`;
}

interface BundleCheckpoint {
  file: string;
  body: string;
  signature: Buffer;
  period: string;
  size: number;
  root: string;
  signer: string;
}

function fromSigned(cp: SignedCheckpoint): BundleCheckpoint {
  return { file: checkpointFile(cp), body: cp.body, signature: cp.signature, period: cp.period, size: cp.size, root: cp.root, signer: cp.signer };
}

async function writeBundle(log: AuditLog, dir: string, options: ExportOptions, ctx: BundleContext): Promise<ExportResult> {
  const { signer } = options;
  const anchor = await log.checkpointUnlocked(signer);
  ctx.progress({ phase: 'collecting', done: 0, total: 0 });
  const anchorPeriod = log.period(anchor.period);
  if (!anchorPeriod) throw new AuditError('TREE_CORRUPT', `anchor period ${anchor.period} missing`);
  const beforeIndex = anchorPeriod.firstIndex + anchor.size;
  const query: EntryQuery = {
    from: options.filters.from,
    to: options.filters.to,
    ...(options.filters.state !== undefined ? { state: options.filters.state } : {}),
    ...(options.filters.channel !== undefined ? { channel: options.filters.channel } : {}),
    ...(options.filters.officerId !== undefined ? { officerId: options.filters.officerId } : {}),
    ...(options.filters.referenceNumber !== undefined ? { referenceNumber: options.filters.referenceNumber } : {}),
  };

  // Which checkpoint proves each exported period: the anchor for the current one, final heads otherwise.
  const counts = log.countEntriesByPeriod(query, beforeIndex);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const periodHead = new Map<string, SignedCheckpoint>();
  for (const period of counts.keys()) {
    const head = period === anchor.period ? anchor : log.finalCheckpoint(period);
    if (!head) throw new AuditError('CHAIN_BROKEN', `period ${period} has no signed final head`);
    periodHead.set(period, head);
  }

  // The previous export's anchor, and how this export continues from it.
  const last = log.lastExport();
  let previous: BundleCheckpoint | null = null;
  if (last) {
    const p = parseCheckpoint(last.anchorBody);
    if (p.ok) {
      previous = { file: checkpointFile({ period: p.value.period, size: p.value.size, hash: p.value.hash }), body: last.anchorBody, signature: last.anchorSignature, period: p.value.period, size: p.value.size, root: p.value.root.toString('hex'), signer: p.value.signer };
    }
  }

  // The chain of final heads from the earliest period concerned up to the anchor.
  const candidates = [anchor.period, ...counts.keys(), ...(previous ? [previous.period] : [])].sort();
  const chainFrom = candidates[0] ?? anchor.period;
  const checkpoints = new Map<string, BundleCheckpoint>();
  const add = (cp: BundleCheckpoint) => checkpoints.set(cp.file, cp);
  add(fromSigned(anchor));
  const chainHeads = new Map<string, SignedCheckpoint>([[anchor.period, anchor]]);
  for (let cur = log.period(anchor.period); cur?.previous && cur.previous >= chainFrom; cur = log.period(cur.previous)) {
    const fin = log.finalCheckpoint(cur.previous);
    if (!fin) throw new AuditError('CHAIN_BROKEN', `period ${cur.previous} has no signed final head`);
    chainHeads.set(fin.period, fin);
    add(fromSigned(fin));
  }
  for (const head of periodHead.values()) add(fromSigned(head));

  const consistency: { from: string; to: string; path: string[] }[] = [];
  if (previous) {
    add(previous);
    const target = chainHeads.get(previous.period);
    const deleted = log.period(previous.period)?.deletedAt != null;
    if (target && !deleted && previous.size <= target.size && target.hash !== sha256Hex(previous.body)) {
      consistency.push({ from: previous.file, to: checkpointFile(target), path: log.consistencyProof(previous.period, previous.size, target.size) });
    }
  }

  const deletions = log.deletionRecords();
  const w = new BundleWriter(dir);

  // Entries, their CSV view, block marks, inclusion proofs.
  const coverage = new Map<string, 'complete' | 'partial'>();
  for (const [period, n] of counts) coverage.set(period, n === periodHead.get(period)?.size ? 'complete' : 'partial');
  const needsProof = (period: string) => ctx.proofMode === 'each' || coverage.get(period) === 'partial';
  const sources = new Map<string, NodeSource>();
  const sourceFor = (period: string): NodeSource => {
    let s = sources.get(period);
    if (!s) {
      const head = periodHead.get(period);
      s = head && (counts.get(period) ?? 0) > MEMORY_TREE_THRESHOLD ? log.loadNodes(period, head.size) : log.nodes(period);
      sources.set(period, s);
    }
    return s;
  };

  const jsonl = await w.open('entries.jsonl');
  const csv = await w.open('entries.csv');
  const proofs = await w.open('proofs/inclusion.jsonl');
  const marks = await w.open('marks.jsonl');
  await csv.write(`${csvLine(CSV_COLUMNS)}\r\n`);
  let done = 0;
  let lastPeriod: string | null = null;
  for (let after = -1; ; ) {
    const page = log.queryEntries(query, after, beforeIndex, PAGE);
    if (page.length === 0) break;
    for (const e of page) {
      if (lastPeriod !== null && lastPeriod !== e.period) sources.delete(lastPeriod); // free a finished period's tree
      lastPeriod = e.period;
      await jsonl.write(`${e.leaf}\n`);
      await csv.write(`${csvRow(JSON.parse(e.leaf) as AuditLeaf, e.blockedAt, e.blockReason)}\r\n`);
      if (e.blockedAt !== null) {
        await marks.write(`${JSON.stringify({ index: e.index, period: e.period, leafIndex: e.leafIndex, blockedAt: e.blockedAt, reason: e.blockReason })}\n`);
      }
      if (needsProof(e.period)) {
        const head = periodHead.get(e.period);
        if (!head) throw new AuditError('TREE_CORRUPT', `no head for ${e.period}`);
        const path = inclusionPath(sourceFor(e.period), e.leafIndex, head.size).map((h) => h.toString('hex'));
        await proofs.write(`${JSON.stringify({ period: e.period, leafIndex: e.leafIndex, checkpoint: checkpointFile(head), treeSize: head.size, path })}\n`);
      }
    }
    done += page.length;
    after = page[page.length - 1]!.index;
    ctx.progress({ phase: 'writing', done, total });
  }
  for (const s of [jsonl, csv, proofs, marks]) await s.close();

  // The export's own entry, proven against the anchor.
  const own = log.entry(ctx.exportIndex);
  if (!own) throw new AuditError('TREE_CORRUPT', 'the export event vanished');
  await w.file('export-event.jsonl', `${own.leaf}\n`);
  await w.file(
    'proofs/export-event.json',
    `${JSON.stringify({ period: own.period, leafIndex: own.leafIndex, checkpoint: checkpointFile(anchor), treeSize: anchor.size, path: log.inclusionProof(own.period, own.leafIndex, anchor.size) })}\n`,
  );
  await w.file('proofs/consistency.json', `${JSON.stringify(consistency, null, 1)}\n`);

  for (const cp of checkpoints.values()) {
    await w.file(cp.file, cp.body);
    await w.file(cp.file.replace(/\.txt$/, '.sig'), cp.signature);
  }
  await w.file(
    'deletions.jsonl',
    deletions
      .map((d) => `${JSON.stringify({ period: d.period, deletedAt: d.deletedAt, entriesDeleted: d.entriesDeleted, blockedRetained: d.blockedRetained, finalHead: d.finalHead.body, finalHeadSignature: d.finalHead.signature.toString('base64'), finalHeadSha256: d.finalHead.hash })}\n`)
      .join(''),
  );

  // Certificates: every key that signed something in the bundle, and the current one for the CMS.
  const signerFps = new Set([...checkpoints.values()].map((c) => c.signer));
  for (const d of deletions) signerFps.add(d.finalHead.signer);
  const current: SignerRecord = { fingerprint: sha256Hex(new X509Certificate(signer.certificatePem).raw), certificatePem: signer.certificatePem, chainPem: signer.chainPem };
  const signers = new Map<string, SignerRecord>([[current.fingerprint, current]]);
  for (const fp of signerFps) {
    const rec = signers.get(fp) ?? log.signerRecord(fp);
    if (!rec) throw new AuditError('TREE_CORRUPT', `certificate ${fp} that signed a checkpoint is not on record`);
    signers.set(fp, rec);
  }
  await w.file('certs/signers.json', `${JSON.stringify([...signers.values()].map((s) => ({ fingerprint: s.fingerprint, certificate: s.certificatePem, chain: s.chainPem })), null, 1)}\n`);
  const trustAnchor = signer.chainPem.length > 0 ? signer.chainPem[signer.chainPem.length - 1]! : signer.certificatePem;
  await w.file('certs/audit.pem', ensureNewline(signer.certificatePem));
  if (signer.chainPem.length > 0) await w.file('certs/chain.pem', signer.chainPem.map(ensureNewline).join(''));
  await w.file('certs/trust-anchor.pem', ensureNewline(trustAnchor));
  const auditCert = new X509Certificate(signer.certificatePem);
  await w.file('certs/audit-pubkey.pem', String(auditCert.publicKey.export({ type: 'spki', format: 'pem' })));
  const anchorsFp = [...new Set([...signers.values()].map((s) => sha256Hex(new X509Certificate(s.chainPem.length > 0 ? s.chainPem[s.chainPem.length - 1]! : s.certificatePem).raw)))];
  const currentAnchorFp = sha256Hex(new X509Certificate(trustAnchor).raw);
  await w.file(
    'certs/FINGERPRINTS.txt',
    [
      `Trust anchor (compare out of band): ${new X509Certificate(trustAnchor).subject.replace(/\n/g, ', ')}`,
      `  SHA-256 ${colon(currentAnchorFp)}`,
      `Audit certificate (signs checkpoints and SHA256SUMS): ${auditCert.subject.replace(/\n/g, ', ')}`,
      `  SHA-256 ${colon(current.fingerprint)}`,
      ...anchorsFp.filter((a) => a !== currentAnchorFp).map((a) => `Earlier trust anchor (older checkpoints): SHA-256 ${colon(a)}`),
      '',
    ].join('\n'),
  );

  if (options.officers) {
    await w.file('officers.json', `${JSON.stringify(options.officers.exportList(), null, 1)}\n`);
    await w.file('officers.csv', options.officers.exportCsv());
  }

  const periodsList = [...counts.keys()].sort().map((period) => ({
    period,
    checkpoint: checkpointFile(periodHead.get(period)!),
    coverage: coverage.get(period)!,
    entries: counts.get(period)!,
  }));
  const manifest = {
    format: BUNDLE_FORMAT,
    exportId: ctx.exportId,
    origin: log.origin,
    createdAt: ctx.now.toISOString(),
    actor: options.actor,
    legalBasis: 'Council Decision 2008/615/JHA Art. 30(3): log data for data-protection monitoring and data security only',
    filters: ctx.filterRecord,
    proofMode: ctx.proofMode,
    entryCount: total,
    anchor: checkpointFile(anchor),
    previousAnchor: previous?.file ?? null,
    previousExport: last ? { id: last.id, createdAt: last.createdAt } : null,
    chainFrom,
    periods: periodsList,
    checkpoints: [...checkpoints.keys()].sort(),
    deletions: deletions.length,
    trustAnchorSha256: currentAnchorFp,
  };
  await w.file('manifest.json', `${JSON.stringify(manifest, null, 1)}\n`);
  await w.file('verify-audit.mjs', await readFile(await verifierFile()));
  await w.file('VERIFY.txt', verifyText({ manifest, anchorFp: currentAnchorFp, hasChain: signer.chainPem.length > 0, checkpointFiles: [...checkpoints.keys()].sort(), auditSubject: auditCert.subject, total, hasOfficers: options.officers !== undefined }));

  ctx.progress({ phase: 'signing', done: total, total });
  const sums = [...w.digests.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, digest]) => `${digest}  ${file}\n`)
    .join('');
  await w.file('SHA256SUMS', sums);
  w.digests.delete('SHA256SUMS');
  let p7s: Uint8Array;
  try {
    p7s = await signer.signCmsDetached(Buffer.from(sums, 'utf8'));
  } catch (e) {
    throw new AuditError('SIGNER_FAILED', `the audit key could not sign SHA256SUMS: ${e instanceof Error ? e.message : String(e)}`);
  }
  await w.file('SHA256SUMS.p7s', p7s);
  w.digests.delete('SHA256SUMS.p7s');
  const sumsSha256 = sha256Hex(sums);

  log.recordExport({
    id: ctx.exportId,
    createdAt: ctx.now.toISOString(),
    actor: options.actor,
    filters: JSON.stringify(ctx.filterRecord),
    entryCount: total,
    destination: options.destination ?? `directory ${dir}`,
    anchorBody: anchor.body,
    anchorSignature: anchor.signature,
    sumsSha256,
  });
  return {
    exportId: ctx.exportId,
    dir,
    entries: total,
    files: [...w.digests.keys(), 'SHA256SUMS', 'SHA256SUMS.p7s'].sort(),
    bytes: w.bytes,
    sumsSha256,
    anchor,
    trustAnchorsSha256: anchorsFp,
  };
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function colon(hex: string): string {
  return hex.toUpperCase().match(/../g)?.join(':') ?? '';
}

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

export const CSV_COLUMNS = [
  'index', 'period', 'leafIndex', 'recordedAt', 'kind', 'occurredAt', 'channel', 'direction', 'role', 'messageType', 'automated',
  'peerState', 'searchingBody', 'fileManagingBody', 'messageId', 'inReplyTo', 'referenceNumbers', 'result', 'reason', 'officerId',
  'orderingOfficerId', 'dataCategories', 'dataRecordIds', 'dataCount', 'dataSha256', 'dataBytes', 'dataDescription', 'action', 'actor',
  'target', 'outcome', 'details', 'blocked', 'blockReason',
] as const;

type CsvColumn = (typeof CSV_COLUMNS)[number];

function csvRow(leaf: AuditLeaf, blockedAt: string | null, blockReason: string | null): string {
  const e: AuditEvent = leaf.event;
  const c: Partial<Record<CsvColumn, string | number | boolean | null>> = {
    index: leaf.index,
    period: leaf.period,
    leafIndex: leaf.leafIndex,
    recordedAt: leaf.recordedAt,
    kind: e.kind,
    occurredAt: e.occurredAt,
    blocked: blockedAt,
    blockReason,
  };
  if (e.kind === 'exchange' || e.kind === 'non-automated') {
    Object.assign(c, {
      channel: e.channel,
      direction: e.direction,
      peerState: e.peerState,
      searchingBody: `${e.searchingBody.state}/${e.searchingBody.agency}`,
      fileManagingBody: `${e.fileManagingBody.state}/${e.fileManagingBody.agency}`,
      messageId: e.messageId ?? null,
      referenceNumbers: e.referenceNumbers.join(' '),
      officerId: e.kind === 'non-automated' ? e.officerId : null,
      dataCategories: e.dataSupplied.categories.join(' '),
      dataRecordIds: e.dataSupplied.recordIds.join(' '),
      dataCount: e.dataSupplied.count,
      dataSha256: e.dataSupplied.sha256,
      dataBytes: e.dataSupplied.byteLength,
      dataDescription: e.dataSupplied.description ?? null,
    });
  }
  if (e.kind === 'non-automated') c.reason = e.reason;
  if (e.kind === 'exchange') {
    Object.assign(c, { role: e.role, messageType: e.messageType, automated: e.automated, result: e.result });
    if (e.direction === 'sent' && e.role === 'request') Object.assign(c, { reason: e.reason, officerId: e.officerId, orderingOfficerId: e.orderingOfficerId });
    if (e.role === 'response' && e.inReplyTo !== undefined) c.inReplyTo = e.inReplyTo;
  }
  if (e.kind === 'admin') {
    Object.assign(c, { action: e.action, actor: e.actor, target: e.target ?? null, outcome: e.outcome, details: e.details ? JSON.stringify(e.details) : null });
  }
  return csvLine(CSV_COLUMNS.map((k) => c[k]));
}

function verifyText(v: {
  manifest: { exportId: string; origin: string; createdAt: string; actor: string; filters: Record<string, string | null>; previousExport: { id: string; createdAt: string } | null };
  anchorFp: string;
  hasChain: boolean;
  checkpointFiles: string[];
  auditSubject: string;
  total: number;
  hasOfficers: boolean;
}): string {
  const m = v.manifest;
  const filters = Object.entries(m.filters)
    .filter(([, val]) => val !== null)
    .map(([k, val]) => `${k} ${val}`)
    .join(', ');
  const certfile = v.hasChain ? ' -certfile certs/chain.pem' : '';
  return `HOW TO CHECK THIS AUDIT LOG EXPORT
==================================

This folder is an export of the audit log that the Prüm gateway "${m.origin}" keeps under
Council Decision 2008/615/JHA, Art. 30. It was produced on ${m.createdAt} at the request of
"${m.actor}" (export ${m.exportId}) and holds ${v.total} log entries selected by: ${filters}.
Log data may be used only for data-protection monitoring and data security (Art. 30(3)).

The log is kept as a hash tree ("Merkle tree", as in Certificate Transparency, RFC 9162): each
month has its own tree; the appliance regularly signs the tree's size and root ("checkpoint")
with its audit key, and each month's checkpoints name the final checkpoint of the month before.
An entry that was changed, removed, inserted or moved no longer fits the signed root. Months
older than two years are deleted (Art. 30(4)); what remains of them is a deletion record with
the month's signed final checkpoint, so the chain of months stays checkable.

What is in this folder
  entries.jsonl          the log entries, one per line, exactly as they were hashed (authoritative)
  entries.csv            the same entries as a table, for reading in a spreadsheet
  marks.jsonl            entries blocked under Art. 28(3) (kept beyond two years), if any
  export-event.jsonl     the log entry that records this export itself
  checkpoints/           signed checkpoints (.txt) and their signatures (.sig)
  proofs/                inclusion proofs (entry is in the signed tree) and consistency proofs
                         (the tree shown by the previous export is a prefix of this one)
  deletions.jsonl        deletion records of months removed under the two-year rule
${v.hasOfficers ? '  officers.json/.csv     the officers authorised to run automated searches (Art. 30(2)(a))\n' : ''}  certs/                 the audit certificate, its chain, and the trust anchor
  manifest.json          what the export contains and which checkpoints prove it
  verify-audit.mjs       the offline verifier (one file, needs only Node.js 18 or later)
  SHA256SUMS             SHA-256 digest of every file above
  SHA256SUMS.p7s         the audit key's signature (CMS, detached) over SHA256SUMS

Run the commands below in a terminal, inside this folder. Lines starting with "$" are commands.

STEP 1 - Is this the operator's audit key? (needs openssl)
  Obtain the trust anchor fingerprint from the operator by a separate channel (letter, phone,
  visit) and compare it with what this prints:

    $ openssl x509 -in certs/trust-anchor.pem -noout -subject -fingerprint -sha256

  For this export it should be:
    SHA-256 ${colon(v.anchorFp)}
  If they differ, stop: the export was not signed by the operator's key.

STEP 2 - Was the list of digests signed by the audit key? (needs openssl)

    $ openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s -content SHA256SUMS -CAfile certs/trust-anchor.pem${certfile} -purpose any -out /dev/null

  It must print "CMS Verification successful". If the audit certificate has expired since the
  export was made, add -no_check_time (the signature itself stays valid).

STEP 3 - Is every file unchanged? (needs sha256sum)

    $ sha256sum -c SHA256SUMS

  Every line must end in "OK" and the command must not print any warning.

STEP 4 - Is the log itself intact? (needs Node.js, nothing else)

    $ node verify-audit.mjs . --trust-anchor-sha256 ${v.anchorFp}

  It checks the signature of every checkpoint, the chain of months, that every entry is in its
  signed tree (for months exported in full, by recomputing the whole tree, which also shows that
  no entry is missing), the deletion records, and that nothing was rewritten since the previous
  export${m.previousExport ? ` (${m.previousExport.id}, made ${m.previousExport.createdAt})` : ''}. It must end with "RESULT: VALID".
  If you kept the previous export, also compare the two:
      node verify-audit.mjs . --previous /path/to/previous/export

OPTIONAL - each checkpoint's signature with openssl alone
  (certs/audit-pubkey.pem is the public key of ${v.auditSubject.replace(/\n/g, ', ')})

${v.checkpointFiles.map((f) => `    $ openssl dgst -sha256 -verify certs/audit-pubkey.pem -signature ${f.replace(/\.txt$/, '.sig')} ${f}`).join('\n')}

  Each must print "Verified OK". (Checkpoints signed by an earlier audit key are checked by
  verify-audit.mjs with the certificates in certs/signers.json.)
`;
}
