import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParsedCheckpoint } from './checkpoint.js';
import { messageOf } from './errors.js';
import type { ListedFiles } from './files.js';
import { field } from './format.js';
import type { Manifest } from './manifest.js';
import { verifyConsistency } from './merkle.js';
import { parseHashList } from './entries.js';
import type { Report } from './report.js';

/**
 * The tree the previous export showed is a prefix of the one this export shows (RFC 9162
 * consistency proofs), i.e. nothing was rewritten between the two exports; with --previous, the
 * older bundle itself shows the checkpoint this one continues from.
 */
export function verifyConsistencyWithPrevious(
  files: ListedFiles,
  manifest: Manifest,
  cps: Map<string, ParsedCheckpoint>,
  onChain: Map<string, ParsedCheckpoint>,
  deletedFinals: Map<string, ParsedCheckpoint>,
  previousDir: string | undefined,
  r: Report,
): void {
  const cp = (name: unknown): ParsedCheckpoint | undefined => (typeof name === 'string' ? cps.get(name) : undefined);
  const consistency = files.json('proofs/consistency.json');
  if (consistency !== undefined) {
    if (!Array.isArray(consistency)) r.error('BUNDLE_FORMAT_ERROR', 'proofs/consistency.json must be an array');
    else {
      for (const [n, c] of (consistency as unknown[]).entries()) {
        const from = cp(field(c, 'from'));
        const to = cp(field(c, 'to'));
        const path = parseHashList(field(c, 'path'));
        if (!from || !to || !path || from.period !== to.period) {
          r.error('CONSISTENCY_PROOF_ERROR', `proofs/consistency.json item ${n + 1}: unknown checkpoints or bad path`);
          continue;
        }
        if (!verifyConsistency(from.size, to.size, from.root, to.root, path)) {
          r.error('CONSISTENCY_PROOF_ERROR', `${String(field(c, 'from'))} (size ${from.size}) is not a prefix of ${String(field(c, 'to'))} (size ${to.size}): the log was rewritten`);
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
      const proven = target === prev || (Array.isArray(consistency) && (consistency as unknown[]).some((c) => field(c, 'from') === manifest.previousAnchor && cp(field(c, 'to')) === target));
      if (deletedFinals.has(prev.period) && target === deletedFinals.get(prev.period)) {
        r.warn('PREVIOUS_ANCHOR_PERIOD_DELETED', `the previous export's period ${prev.period} has since been deleted under the retention rule; its consistency can no longer be proven, only its signed final head`);
      } else if (!target || !proven) {
        r.error('CONSISTENCY_PROOF_ERROR', `no verified consistency proof from the previous export's checkpoint (${prev.period} size ${prev.size}) to this export's chain`);
      } else {
        r.fact(`the previous export's checkpoint (${prev.period} size ${prev.size}) is consistent with this export: nothing was rewritten in between`);
      }
      if (previousDir) comparePrevious(previousDir, prev, r);
    }
  } else if (previousDir) {
    r.error('PREVIOUS_EXPORT_MISMATCH', 'this bundle names no previous export, but --previous was given');
  }
}

function comparePrevious(previousDir: string, prev: ParsedCheckpoint, r: Report): void {
  try {
    const oldManifest: unknown = JSON.parse(readFileSync(join(previousDir, 'manifest.json'), 'utf8'));
    const oldAnchor = readFileSync(join(previousDir, String(field(oldManifest, 'anchor'))));
    if (!oldAnchor.equals(prev.body)) {
      r.error('PREVIOUS_EXPORT_MISMATCH', `the previous export in ${previousDir} shows another checkpoint than the one this export continues from`);
    } else {
      r.fact(`the previous export in ${previousDir} shows exactly the checkpoint this export continues from`);
    }
  } catch (e) {
    r.error('PREVIOUS_EXPORT_MISMATCH', `cannot read the previous export: ${messageOf(e)}`);
  }
}
