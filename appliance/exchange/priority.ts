import type { ChannelHandler, InboundMessage } from './handler.js';

/**
 * The two request classes the inbound lanes schedule by.
 *
 * Reading of DNA-TIME (Annex ch.1: requests reach the database "in the chronological order of sending"):
 * the order is that of one request stream — a requesting State's single searches (Art. 3) are one stream,
 * its batch comparisons (Art. 4) another — so that no request of a stream overtakes an earlier one of the
 * same stream, and a State's later correction never lands before the request it corrects. An Art. 3
 * search is a different kind of request: it does not depend on a batch, and answering it first changes no
 * answer (matching reads the national database, it writes nothing). So the lanes keep the order of
 * sending within each class (and within each class across senders, as before), and let a light request
 * overtake heavy ones; a flood of first-connection batches then cannot hold an officer's search for
 * minutes. Every message still carries its own deadline (15 min DNA); a flood too large for it is
 * answered late, in order, shown as at risk/overdue in the status API — nothing is dropped.
 *
 * The lanes decide the order; the DNA channel also keeps the daemon's thread free while a heavy request is
 * answered: its batch is read and searched by the search workers (dna/search-pool.ts, nicer than this thread),
 * so a light request taken meanwhile is parsed and searched here at once.
 */
export type RequestClass = 'light' | 'heavy';

/** Light: one search or less (Art. 3, a ping, an answer to file). Heavy: a batch. */
export function classOfWeight(weight: number): RequestClass {
  return Number.isFinite(weight) && weight > 1 ? 'heavy' : 'light';
}

/** The class a handler gives an opened message; a handler without `weigh`, or one that throws, makes it light. */
export function classify(handler: ChannelHandler | undefined, message: InboundMessage): RequestClass {
  if (!handler?.weigh) return 'light';
  try {
    return classOfWeight(handler.weigh(message));
  } catch {
    // A message the handler cannot even weigh will fail fast in handle(): no reason to make it wait.
    return 'light';
  }
}
