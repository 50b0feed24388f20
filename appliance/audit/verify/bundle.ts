import { statSync, type Stats } from 'node:fs';
import { verifyDeletions, verifyChain, verifyCheckpoints } from './chain.js';
import { verifyConsistencyWithPrevious } from './consistency.js';
import { verifyEntries, verifyExportEvent } from './entries.js';
import { messageOf } from './errors.js';
import { ListedFiles, listFiles, parseSums, readSmall } from './files.js';
import { BUNDLE_FORMAT, field } from './format.js';
import { checkManifest } from './manifest.js';
import { Report, type VerifyReport } from './report.js';
import { verifySigners } from './signers.js';

export interface VerifyOptions {
  /** Fingerprints of the trust anchors obtained out of band (hex, colons allowed). */
  trustAnchorSha256?: string[];
  /** The previous export bundle's folder, to compare the checkpoint this one continues from. */
  previous?: string;
}

/**
 * Verifies an export bundle directory: each concern in turn (digests and signature, certificates,
 * manifest, checkpoints and their chain, entries, the export's own entry, consistency, the other
 * files). Never throws: every failure is in the report with a code from VERIFY_ERROR_CODES.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const r = new Report();
  try {
    verifyInto(dir, options, r);
  } catch (e) {
    r.error('BUNDLE_FORMAT_ERROR', `unexpected failure: ${messageOf(e)}`);
  }
  return r.toJSON();
}

function verifyInto(dir: string, options: VerifyOptions, r: Report): void {
  let st: Stats;
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
  const files = new ListedFiles(dir, sums.value, r);
  const present = listFiles(dir).filter((f) => f !== 'SHA256SUMS' && f !== 'SHA256SUMS.p7s');
  for (const f of present) if (!files.listed.has(f)) r.warn('BUNDLE_UNLISTED_FILE', `${f} is not listed in SHA256SUMS and was ignored`);

  // 2. Certificates, trust anchors, the signature over SHA256SUMS.
  const certs = verifySigners(files, sumsBytes, p7s, options.trustAnchorSha256 ?? [], r);
  if (!certs) return;

  // 3. Manifest.
  const raw = files.json('manifest.json');
  if (!raw) return;
  if (field(raw, 'format') !== BUNDLE_FORMAT) {
    r.error('BUNDLE_FORMAT_ERROR', `manifest.json: format must be ${BUNDLE_FORMAT}`);
    return;
  }
  const m = checkManifest(raw);
  if (!m.ok) {
    r.error('BUNDLE_FORMAT_ERROR', `manifest.json: ${m.message}`);
    return;
  }
  const manifest = m.value;
  r.summary.exportId = manifest.exportId;
  r.summary.createdAt = manifest.createdAt;
  r.summary.origin = manifest.origin;
  r.summary.filters = manifest.filters;
  r.fact(`export ${manifest.exportId} of ${manifest.origin}, created ${manifest.createdAt}, filters ${JSON.stringify(manifest.filters)}`);

  // 4.–6. Checkpoints, deletion records, the chain of periods.
  const cps = verifyCheckpoints(files, manifest, certs.signers, r);
  const deletedFinals = verifyDeletions(files, manifest, certs.signers, r);
  const chain = verifyChain(manifest, cps, deletedFinals, r);
  if (!chain) return;

  // 7. Periods and entries; 8. the export's own audit entry.
  verifyEntries(files, manifest, cps, chain.onChain, r);
  verifyExportEvent(files, manifest, chain.anchor, cps, r);

  // 9. Consistency with the previous export.
  verifyConsistencyWithPrevious(files, manifest, cps, chain.onChain, deletedFinals, options.previous, r);

  // 10. Every other listed file's digest.
  files.checkRest();
}
