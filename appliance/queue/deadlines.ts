import type { Channel } from '../peers/member-states.js';

/**
 * Answer deadlines from arrival: DNA 15 minutes (Annex ch.1 §1, DNA-TIME), fingerprints
 * 24 hours (2008/616 Art. 13, FP-TIME), vehicles 10 seconds (VRD-PERF).
 */
export const ANSWER_DEADLINE_MS: Readonly<Record<Channel, number>> = {
  dna: 15 * 60_000,
  fp: 24 * 3_600_000,
  vrd: 10_000,
};

export function deadlineFor(channel: Channel, from: Date): Date {
  return new Date(from.getTime() + ANSWER_DEADLINE_MS[channel]);
}

/** A message is at risk when less than a fifth of its allowed time is left (or it is late). */
export function isAtRisk(channel: Channel, deadline: Date, now: Date): boolean {
  return deadline.getTime() - now.getTime() < ANSWER_DEADLINE_MS[channel] / 5;
}

/**
 * Retry back-off for the sender: 5 s doubling to a 5-minute ceiling. A TESTA relay outage
 * is usually short; past the ceiling we still try every 5 minutes, long after the deadline,
 * because a late Prüm answer is better than none — until `exchange.outboundGiveUpHours` (72 h by default),
 * when the message becomes a dead letter: audited and on the dashboard, never dropped silently.
 */
export function retryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}
