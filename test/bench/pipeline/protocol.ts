/** What the benchmark and its gateway process say to each other over the fork IPC channel. */

export type Command =
  /** on: the real audit log; off: a no-op sink; mixed: on or off per inbox message, at random (seeded), half each. */
  | { readonly id: number; readonly cmd: 'audit'; readonly mode: AuditMode }
  /** Stage timings, CPU and counters since the last `stats` (which resets them). */
  | { readonly id: number; readonly cmd: 'stats' }
  /** Cost of one committed write transaction on the gateway's disk, measured on a scratch file beside its database. */
  | { readonly id: number; readonly cmd: 'fsync'; readonly count: number; readonly bytes: number }
  /** V8 CPU profile of the gateway process (node:inspector), written to `path` on stop. */
  | { readonly id: number; readonly cmd: 'profile-start' }
  | { readonly id: number; readonly cmd: 'profile-stop'; readonly path: string }
  | { readonly id: number; readonly cmd: 'stop' };

export type AuditMode = 'on' | 'off' | 'mixed';

/** In `mixed` mode, stage names carry the message's audit state after this separator. */
export const MIXED_TAG = { on: ' #audit', off: ' #no-audit' } as const;

/** The stage timer around the pipeline's audit call (ExchangeAudit.exchange). */
export const AUDIT_STAGE = '  audit: Art. 30 record';
/** The stage timer around the transaction that commits an answer (outbox, audit, notes, counters, inbox). */
export const COMMIT_STAGE = 'commit: outbox + audit + inbox (one tx)';

/** A command as the benchmark writes it; the channel adds the id. */
export type Request = Command extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

export interface StageFigure {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

export interface GatewayStats {
  readonly stages: Record<string, StageFigure>;
  /** Wall time the stats cover. */
  readonly wallMs: number;
  /** CPU of the gateway process (user + system) and of its finished child processes (none today; xmllint was one). */
  readonly cpuMs: number;
  readonly childCpuMs: number;
  /** Event-loop utilisation of the gateway process over the window (1 = never idle). */
  readonly elu: number;
  readonly inbox: Record<string, number>;
  readonly outbox: Record<string, number>;
  /**
   * Each pipeline loop turn that processed an inbox message (process it, then send what is due):
   * its duration and whether that message's audit records were written.
   */
  readonly iterations: ReadonlyArray<{ readonly ms: number; readonly audit: boolean }>;
  /** Entries in the current audit period's tree. */
  readonly auditSize: number;
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

export type Notice = { readonly type: 'ready'; readonly smtpPort: number } | { readonly type: 'failed'; readonly error: string };

export function isReply(m: unknown): m is Reply {
  return typeof m === 'object' && m !== null && 'id' in m && 'ok' in m;
}

export function isNotice(m: unknown): m is Notice {
  return typeof m === 'object' && m !== null && 'type' in m;
}
