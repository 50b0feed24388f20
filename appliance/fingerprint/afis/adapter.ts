import type { NistErrorCode } from '../errors.js';
import type { RequestTot } from '../tot.js';

/**
 * The national AFIS behind the appliance, as a vendor integration implements it. The appliance
 * never matches fingerprints itself in production: it hands a validated search to the AFIS and
 * gets the result back later (minutes to hours; the Annex allows 24 h), correlated by the TCN it
 * gave the search. A vendor that pushes results calls the listener; one that must be polled implements `poll`,
 * which the appliance calls every few seconds.
 */
export interface AfisSearch {
  /**
   * Our TCN for this search (`YYSSSSSSSSA`, unique on this appliance): the result comes back under it.
   * Submitting the same one again (after a restart) is harmless. Not the requester's TCN: two States
   * may use the same numbers.
   */
  readonly id: string;
  /** The requesting State's TCN (1.009 of the file), for the vendor's own records. */
  readonly tcn: string;
  readonly tot: RequestTot;
  /** 1 (urgent) … 9; the AFIS should take priority 1 first. */
  readonly priority: number;
  /** The ANSI/NIST-ITL file as received, valid under INT-I 4.22. */
  readonly transaction: Buffer;
  /** At most this many candidates are wanted (Table 11 limit for the search type, or the request's ENC if lower). */
  readonly maxCandidates: number;
}

export interface AfisCandidate {
  /** The matched record's reference in the national database: the CRN of a person, the case number of a latent. */
  readonly reference: string;
  /** The AFIS score, 0–999999 (2.064's fourth subfield); verified hits report 999999. */
  readonly score: number;
  /** True when an expert confirmed the hit. */
  readonly verified: boolean;
  /** The finger position (Table 5) that hit, reported in 2.063 for PMS answers. */
  readonly fingerPosition?: number;
}

export type AfisResult =
  | { readonly id: string; readonly outcome: 'candidates'; readonly candidates: readonly AfisCandidate[] }
  /** The AFIS could not search (e.g. 501 insufficient quality, 502 missing fingerprints): answered with an ERR. */
  | { readonly id: string; readonly outcome: 'error'; readonly code: NistErrorCode; readonly text: string };

export interface AfisAdapter {
  /** For logs and the status page, e.g. "demo AFIS" or the vendor's product name. */
  readonly name: string;
  /**
   * Hands a search to the AFIS. Resolves when the AFIS took it (not when it has an answer); rejects
   * when it cannot take it now (the appliance keeps the search and tries again).
   */
  submit(search: AfisSearch): Promise<void>;
  /** Registers the one listener for pushed results. */
  onResult(listener: (result: AfisResult) => void): void;
  /** For vendors without push: results ready since the last call. */
  poll?(): Promise<readonly AfisResult[]>;
  close(): Promise<void>;
}
