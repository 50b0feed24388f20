import type { Channel, MemberStateCode } from '../peers/member-states.js';

/** The JSON of GET /api/status: what the console's dashboard and a technician's curl see. No personal data. */
export type LinkState = 'up' | 'degraded' | 'down' | 'unknown' | 'disabled';

export interface PeerLinkStatus {
  readonly state: MemberStateCode;
  readonly channel: Channel;
  readonly link: LinkState;
  /** ISO-8601 times; null when it never happened. */
  readonly lastSuccess: string | null;
  readonly lastError: { readonly at: string; readonly reason: string } | null;
}

export interface QueueStatus {
  readonly channel: Channel;
  readonly direction: 'in' | 'out';
  readonly depth: number;
  /** Age in seconds of the oldest message not yet done; null when empty. */
  readonly oldestAgeSeconds: number | null;
  /** ISO-8601 deadline of the message nearest to its deadline; null when empty. */
  readonly nearestDeadline: string | null;
  /** Messages whose deadline is less than a fifth of their allowed time away, or already past. */
  readonly atRisk: number;
  /** The States the queued messages wait for, where the queue knows (the vehicle channel's queue for unreachable States). */
  readonly waitingFor?: readonly MemberStateCode[];
}

/**
 * A message the gateway gave up on. Inbound ('in'): it failed the same way `exchange.maxFailures` times in
 * a row. Outbound ('out'): the relay refused it for good (5xx), or kept refusing it for
 * `exchange.outboundGiveUpHours`. Its raw data is gone (DP-PURPOSE); the failure is in the audit log.
 * Operators look at the code and the State to decide what to take up with the peer, TESTA or the vendor.
 */
export interface DeadLetter {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly messageId: string;
  readonly channel: Channel;
  /** The other State: the signer of an inbound message (null when it failed before verification), the addressee of an outbound one. */
  readonly state: string | null;
  /** When it was received (inbound) or queued (outbound). */
  readonly receivedAt: string;
  readonly deadAt: string;
  readonly code: string;
  readonly failures: number;
  readonly reason: string;
}

export interface ServiceStatus {
  readonly name: 'relay' | 'pop3' | 'smtp-receiver' | 'token' | 'dna-index' | 'afis' | 'fp-capacity' | 'vehicle-service' | 'vehicle-queue';
  readonly state: LinkState;
  readonly detail: string;
  readonly lastChecked: string | null;
}

export interface GatewayStatus {
  readonly memberState: MemberStateCode;
  readonly version: string;
  readonly startedAt: string;
  readonly now: string;
  readonly demo: boolean;
  readonly services: readonly ServiceStatus[];
  readonly peers: readonly PeerLinkStatus[];
  readonly queues: readonly QueueStatus[];
  /** The daemon's provisioning (startGateway): what is missing before the TESTA side opens, certificates near expiry. */
  readonly provisioning?: { readonly ready: boolean; readonly mode: 'production' | 'development' | 'none'; readonly missing: readonly string[]; readonly expiring: readonly string[] };
  /** Inbox messages given up on (until retention removes them) and the latest few; absent from an older daemon. */
  readonly deadLetters?: { readonly count: number; readonly recent: readonly DeadLetter[] };
  /** Messages per minute over the last hour (60 buckets, oldest first), per direction. */
  readonly throughput: { readonly in: readonly number[]; readonly out: readonly number[] };
}
