/**
 * verify-audit — offline verifier for Prüm gateway audit export bundles.
 *
 * The sources are the type-checked modules in verify/, one per verification concern (as sigstore's
 * verifier is laid out); `make build` bundles this entry with esbuild into one dependency-free
 * file, dist/appliance/audit/verify-audit.mjs, which every export bundle carries. An auditor runs
 * it on any machine with only Node.js (18 or later):
 *
 *     node verify-audit.mjs <bundle-dir> [--trust-anchor-sha256 <hex>]... [--previous <older-bundle-dir>] [--json]
 *
 * It checks, from the bundle's bytes alone:
 *   1. SHA256SUMS lists every file and each digest matches (the same as `sha256sum -c SHA256SUMS`)
 *      — verify/files.ts;
 *   2. SHA256SUMS.p7s is a detached CMS signature over SHA256SUMS by the audit certificate
 *      (the same check as `openssl cms -verify`) — verify/signature.ts, verify/der.ts;
 *   3. every audit certificate chains to a self-signed trust anchor, whose SHA-256 fingerprint the
 *      auditor compares with the one obtained out of band (or passes with --trust-anchor-sha256)
 *      — verify/certificate.ts, verify/signers.ts;
 *   4. every checkpoint (signed tree head) carries a valid RSA signature by its audit certificate,
 *      and the checkpoints form an unbroken chain of periods through their final heads
 *      (a removed or rewritten period breaks the chain) — verify/checkpoint.ts, verify/chain.ts;
 *   5. every exported entry is included in its period's signed tree (RFC 9162 inclusion proofs;
 *      for periods exported in full, the whole tree is recomputed from the entries, which also
 *      proves that none is missing) — verify/entries.ts, verify/merkle.ts (hashing: audit/merkle.ts);
 *   6. the tree the previous export showed is a prefix of the one this export shows (RFC 9162
 *      consistency proof), i.e. nothing was rewritten between the two exports — verify/consistency.ts;
 *   7. deletion records (two-year retention) carry signed final heads of the deleted periods.
 *
 * Everything in the bundle is attacker-controlled input: numbers, paths and encodings are parsed
 * defensively, and every failure is reported with one code from a closed list (VERIFY_ERROR_CODES,
 * verify/errors.ts). The appliance imports the same module (`pruem audit verify`, the console).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { main } from './verify/cli.js';

export { verifyBundle, type VerifyOptions } from './verify/bundle.js';
export { certificateSha256, colonHex, parsePemCertificates, verifyCertificateChain } from './verify/certificate.js';
export { parseCheckpoint, parseSize, type ParsedCheckpoint } from './verify/checkpoint.js';
export { main } from './verify/cli.js';
export { VERIFY_ERROR_CODES, VerifyError, type VerifyErrorCode, type VerifyIssue } from './verify/errors.js';
export { parseSums } from './verify/files.js';
export { BUNDLE_FORMAT, CHECKPOINT_HEADER } from './verify/format.js';
export { EMPTY_ROOT, leafHash, nodeHash, TreeBuilder, verifyConsistency, verifyInclusion } from './verify/merkle.js';
export { formatReport, type VerifyReport } from './verify/report.js';
export { verifyCmsDetached, verifyRawSignature } from './verify/signature.js';

function invokedDirectly(): boolean {
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
    (e: unknown) => {
      process.stderr.write(`verify-audit: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
