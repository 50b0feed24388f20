import type { X509Certificate } from 'node:crypto';
import { parseCheckpoint, type ParsedCheckpoint } from './checkpoint.js';
import type { ListedFiles } from './files.js';
import { field, TIME_RE } from './format.js';
import type { Manifest } from './manifest.js';
import type { Report } from './report.js';
import { verifyRawSignature } from './signature.js';

/**
 * The checkpoints (signed tree heads) and their chain across periods: each period's first head
 * links to the previous period's final head, so a removed or rewritten period breaks the chain.
 * Deletion records (two-year retention) carry the signed final heads of deleted periods.
 */

/** Every checkpoint the manifest lists: format, signature by a verified audit certificate, origin. */
export function verifyCheckpoints(files: ListedFiles, manifest: Manifest, signers: Map<string, X509Certificate>, r: Report): Map<string, ParsedCheckpoint> {
  const cps = new Map<string, ParsedCheckpoint>();
  for (const file of manifest.checkpoints) {
    const body = files.read(file);
    const sig = files.read(file.replace(/\.txt$/, '.sig'));
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
  return cps;
}

/** deletions.jsonl: period → the signed final head of a period deleted under the retention rule. */
export function verifyDeletions(files: ListedFiles, manifest: Manifest, signers: Map<string, X509Certificate>, r: Report): Map<string, ParsedCheckpoint> {
  const deletedFinals = new Map<string, ParsedCheckpoint>();
  const delBytes = files.read('deletions.jsonl');
  if (!delBytes) return deletedFinals;
  const text = delBytes.toString('utf8');
  const lines = text === '' ? [] : text.endsWith('\n') ? text.slice(0, -1).split('\n') : null;
  if (lines === null) r.error('DELETION_RECORD_ERROR', 'deletions.jsonl must end with a newline');
  for (const [n, line] of (lines ?? []).entries()) {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1} is not JSON`);
      continue;
    }
    const finalHead = field(rec, 'finalHead');
    const p = typeof finalHead === 'string' ? parseCheckpoint(finalHead) : ({ ok: false, message: 'finalHead missing' } as const);
    if (!p.ok) {
      r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: ${p.message}`);
      continue;
    }
    const cert = signers.get(p.value.signer);
    const sigText = field(rec, 'finalHeadSignature');
    const sig = typeof sigText === 'string' ? Buffer.from(sigText, 'base64') : Buffer.alloc(0);
    if (!cert || !verifyRawSignature(cert, p.value.body, sig)) {
      r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: the final head's signature does not verify`);
      continue;
    }
    const period = field(rec, 'period');
    if (period !== p.value.period || !p.value.final || p.value.origin !== manifest.origin) {
      r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: the record does not carry the final head of period ${String(period)}`);
      continue;
    }
    const deletedAt = field(rec, 'deletedAt');
    if (typeof deletedAt !== 'string' || !TIME_RE.test(deletedAt)) {
      r.error('DELETION_RECORD_ERROR', `deletions.jsonl line ${n + 1}: bad deletedAt`);
      continue;
    }
    deletedFinals.set(p.value.period, p.value);
    r.fact(`period ${String(period)} (${p.value.size} entries, final root ${p.value.root.toString('hex').slice(0, 16)}…) was deleted at ${deletedAt} under the retention rule`);
  }
  return deletedFinals;
}

export interface Chain {
  anchor: ParsedCheckpoint;
  /** period → the checkpoint of that period that is on the chain ending at the anchor */
  onChain: Map<string, ParsedCheckpoint>;
}

/** The chain of periods, from the anchor back to the manifest's chainFrom. */
export function verifyChain(manifest: Manifest, cps: Map<string, ParsedCheckpoint>, deletedFinals: Map<string, ParsedCheckpoint>, r: Report): Chain | undefined {
  const anchor = cps.get(manifest.anchor);
  if (!anchor) {
    r.error('CHECKPOINT_CHAIN_ERROR', `the anchor checkpoint ${manifest.anchor} is missing or invalid`);
    return undefined;
  }
  const finals = new Map(deletedFinals);
  for (const cp of cps.values()) {
    if (!cp.final) continue;
    const other = finals.get(cp.period);
    if (other && other.hash !== cp.hash) r.error('CHECKPOINT_CHAIN_ERROR', `two different final heads for period ${cp.period}`);
    finals.set(cp.period, cp);
  }
  const onChain = new Map<string, ParsedCheckpoint>([[anchor.period, anchor]]);
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
  return { anchor, onChain };
}
