/** Types for verify-audit.mjs (the offline verifier is plain JavaScript so auditors need only Node). */
import type { X509Certificate } from 'node:crypto';

export declare const BUNDLE_FORMAT: 'pruem-audit-export/1';
export declare const CHECKPOINT_HEADER: 'pruem-audit-checkpoint/1';
export declare const VERIFY_ERROR_CODES: readonly VerifyErrorCode[];
export type VerifyErrorCode =
  | 'USAGE_ERROR'
  | 'BUNDLE_FILE_MISSING'
  | 'BUNDLE_FORMAT_ERROR'
  | 'BUNDLE_UNLISTED_FILE'
  | 'DIGEST_MISMATCH'
  | 'SUMS_SIGNATURE_ERROR'
  | 'CERTIFICATE_ERROR'
  | 'CERTIFICATE_CHAIN_ERROR'
  | 'TRUST_ANCHOR_MISMATCH'
  | 'CHECKPOINT_FORMAT_ERROR'
  | 'CHECKPOINT_SIGNATURE_ERROR'
  | 'CHECKPOINT_CHAIN_ERROR'
  | 'ENTRY_FORMAT_ERROR'
  | 'ENTRY_ORDER_ERROR'
  | 'ENTRY_COUNT_MISMATCH'
  | 'INCLUSION_PROOF_ERROR'
  | 'COMPLETENESS_ERROR'
  | 'CONSISTENCY_PROOF_ERROR'
  | 'PREVIOUS_EXPORT_MISMATCH'
  | 'PREVIOUS_ANCHOR_PERIOD_DELETED'
  | 'DELETION_RECORD_ERROR'
  | 'EXPORT_EVENT_ERROR';

export interface VerifyIssue {
  code: VerifyErrorCode;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  errors: VerifyIssue[];
  warnings: VerifyIssue[];
  facts: string[];
  summary: Record<string, unknown>;
}

export interface ParsedCheckpoint {
  origin: string;
  period: string;
  size: number;
  root: Buffer;
  time: string;
  previousPeriod: string | null;
  previousFinalHead: string | null;
  final: boolean;
  signer: string;
  body: Buffer;
  hash: string;
}

export declare const EMPTY_ROOT: Buffer;
export declare function leafHash(data: Uint8Array): Buffer;
export declare function nodeHash(left: Uint8Array, right: Uint8Array): Buffer;
export declare function verifyInclusion(leaf: unknown, index: unknown, size: unknown, proof: unknown, root: unknown): boolean;
export declare function verifyConsistency(first: unknown, second: unknown, firstRoot: unknown, secondRoot: unknown, proof: unknown): boolean;
export declare class TreeBuilder {
  readonly size: number;
  push(hash: Buffer): void;
  root(): Buffer;
}
export declare function parseSize(text: unknown): number | undefined;
export declare function parseCheckpoint(text: string): { ok: true; value: ParsedCheckpoint } | { ok: false; message: string };
export declare function parsePemCertificates(text: string): X509Certificate[];
export declare function certificateSha256(cert: X509Certificate): string;
export declare function colonHex(hex: string): string;
export declare function verifyCertificateChain(cert: X509Certificate, chain: X509Certificate[]): { ok: true; anchor: X509Certificate } | { ok: false; message: string };
export declare function verifyRawSignature(cert: X509Certificate, data: Uint8Array, signature: Uint8Array): boolean;
export declare function verifyCmsDetached(der: Buffer, content: Uint8Array, cert: X509Certificate): { ok: true } | { ok: false; message: string };
export declare function parseSums(text: string): { ok: true; value: Map<string, string> } | { ok: false; message: string };
export declare function verifyBundle(dir: string, options?: { trustAnchorSha256?: string[]; previous?: string }): Promise<VerifyReport>;
export declare function formatReport(dir: string, report: VerifyReport): string;
export declare function main(argv: string[], io?: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } }): Promise<number>;
