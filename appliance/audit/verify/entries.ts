import type { ParsedCheckpoint } from './checkpoint.js';
import type { ListedFiles } from './files.js';
import { readLines } from './files.js';
import { field, HEX64_RE, isRecord, LIMITS, PERIOD_RE, TIME_RE } from './format.js';
import type { Manifest } from './manifest.js';
import { leafHash, TreeBuilder, verifyInclusion } from './merkle.js';
import type { Report } from './report.js';

/**
 * The exported entries: each is included in its period's signed tree (RFC 9162 inclusion proofs;
 * for periods exported in full the whole tree is recomputed, which also proves none is missing),
 * in log order, as many as the manifest says; and the export's own audit entry.
 */

/** One line of entries.jsonl, as far as the verifier relies on its shape. */
export interface EntryLine {
  v: 1;
  index: number;
  leafIndex: number;
  period: string;
  recordedAt: string;
  event: { kind: string; action?: unknown; actor?: unknown; details?: unknown };
}

/** Returns a message when the entry is not shaped like an audit log leaf. */
export function checkEntryShape(e: unknown): string | null {
  if (!isRecord(e)) return 'not an object';
  if (e.v !== 1) return 'unknown entry version';
  if (typeof e.index !== 'number' || !Number.isSafeInteger(e.index) || e.index < 0) return 'bad index';
  if (typeof e.leafIndex !== 'number' || !Number.isSafeInteger(e.leafIndex) || e.leafIndex < 0) return 'bad leafIndex';
  if (typeof e.period !== 'string' || !PERIOD_RE.test(e.period)) return 'bad period';
  if (typeof e.recordedAt !== 'string' || !TIME_RE.test(e.recordedAt)) return 'bad recordedAt';
  if (typeof e.event !== 'object' || e.event === null || typeof field(e.event, 'kind') !== 'string') return 'bad event';
  return null;
}

export function parseHashList(list: unknown): Buffer[] | undefined {
  if (!Array.isArray(list) || list.length > LIMITS.maxProofHashes) return undefined;
  const out: Buffer[] = [];
  for (const h of list as unknown[]) {
    if (typeof h !== 'string' || !HEX64_RE.test(h)) return undefined;
    out.push(Buffer.from(h, 'hex'));
  }
  return out;
}

/** Checks one inclusion-proof line against an entry and its period's checkpoint; returns a message on failure. */
export function checkInclusionLine(line: Buffer | undefined, entry: EntryLine, lh: Buffer, checkpoint: ParsedCheckpoint, cps: Map<string, ParsedCheckpoint>): string | null {
  if (line === undefined) return 'no inclusion proof';
  let p: unknown;
  try {
    p = JSON.parse(line.toString('utf8'));
  } catch {
    return 'the proof line is not JSON';
  }
  if (field(p, 'period') !== entry.period || field(p, 'leafIndex') !== entry.leafIndex) return 'the proof is for another entry (entries reordered or removed?)';
  const name = field(p, 'checkpoint');
  const cp = typeof name === 'string' ? cps.get(name) : undefined;
  if (cp !== checkpoint || cp === undefined) return `the proof refers to ${String(name)}, not the period's checkpoint`;
  if (field(p, 'treeSize') !== cp.size) return 'the proof is for another tree size';
  const path = parseHashList(field(p, 'path'));
  if (!path) return 'bad proof path';
  if (!verifyInclusion(lh, entry.leafIndex, cp.size, path, cp.root)) return 'the entry is not in the signed tree (altered?)';
  return null;
}

interface PeriodState {
  checkpoint: ParsedCheckpoint;
  coverage: 'complete' | 'partial';
  entries: number;
  seen: number;
  builder: TreeBuilder | null;
  next: number;
}

/** entries.jsonl against proofs/inclusion.jsonl and the periods the manifest describes. */
export function verifyEntries(files: ListedFiles, manifest: Manifest, cps: Map<string, ParsedCheckpoint>, onChain: Map<string, ParsedCheckpoint>, r: Report): void {
  const periods = new Map<string, PeriodState>();
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

  const inclusion = files.lines('proofs/inclusion.jsonl');
  const entries = files.lines('entries.jsonl');
  let entryCount = 0;
  let proofsNeeded = 0;
  let proofsChecked = 0;
  let last: EntryLine | null = null;
  if (entries) {
    for (let line = entries.next(); line !== null; line = entries.next()) {
      const lineNo = entries.lineNo;
      entryCount++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line.toString('utf8'));
      } catch {
        r.error('ENTRY_FORMAT_ERROR', `entries.jsonl line ${lineNo} is not JSON`);
        continue;
      }
      const shape = checkEntryShape(parsed);
      if (shape) {
        r.error('ENTRY_FORMAT_ERROR', `entries.jsonl line ${lineNo}: ${shape}`);
        continue;
      }
      const entry = parsed as EntryLine;
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
}

/** export-event.jsonl: the one audit entry that records this export, proven against the anchor. */
export function verifyExportEvent(files: ListedFiles, manifest: Manifest, anchor: ParsedCheckpoint, cps: Map<string, ParsedCheckpoint>, r: Report): void {
  const evLines = readLines(files.read('export-event.jsonl'), 'export-event.jsonl', r);
  const evProof = files.json('proofs/export-event.json');
  if (!evLines || !evProof) return;
  const line = evLines[0];
  let ev: unknown;
  try {
    ev = evLines.length === 1 && line !== undefined ? JSON.parse(line.toString('utf8')) : undefined;
  } catch {
    ev = undefined;
  }
  const event = field(ev, 'event');
  if (!ev || line === undefined || checkEntryShape(ev) || field(event, 'kind') !== 'admin' || field(event, 'action') !== 'export' || field(field(event, 'details'), 'exportId') !== manifest.exportId) {
    r.error('EXPORT_EVENT_ERROR', 'export-event.jsonl must hold the one audit entry that records this export');
    return;
  }
  const entry = ev as EntryLine;
  const res = checkInclusionLine(Buffer.from(JSON.stringify(evProof)), entry, leafHash(line), anchor, cps);
  if (res) r.error('EXPORT_EVENT_ERROR', `the export's own audit entry: ${res}`);
  else r.fact(`this export is itself recorded in the log (entry ${entry.index}, by ${String(entry.event.actor)})`);
}
