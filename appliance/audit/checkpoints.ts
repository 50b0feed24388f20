import { periodOf, type AuditLog } from './log.js';
import type { AuditSigner } from './signer.js';

/** Signs the audit tree head when it grew (or the month changed) since the last checkpoint; otherwise nothing. */
export async function checkpointIfGrown(log: AuditLog, signer: AuditSigner, now: Date = new Date()): Promise<void> {
  const head = log.head(periodOf(now));
  const last = log.latestCheckpoint();
  if (head && (!last || last.size !== head.size || last.period !== periodOf(now))) await log.checkpoint(signer);
}
