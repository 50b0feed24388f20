/**
 * The national vehicle register as the vehicle service sees it: one asynchronous search by the Annex's
 * criteria, answered with every vehicle that matches (each as a full data set). Deciding between the
 * full set and the refine-search set is ours (resultOf), so every adapter behaves the same.
 * Adapters: demo-register.ts (SQLite, synthetic data) and register-http.ts (a register behind HTTP).
 */
import type { FullDataSet, SearchResult, VehicleQuery } from './data-set.js';
import { MAX_REFINE_VEHICLES } from './codec.js';

export interface VehicleRegister {
  /** Every vehicle matching `query` at its reference date-time (now when absent). Rejects when the register fails. */
  search(query: VehicleQuery, opts: { readonly signal: AbortSignal }): Promise<readonly FullDataSet[]>;
  close(): void | Promise<void>;
}

/** One match → the full set; several → the refine-search set (Annex §1.2.1: the requested State chooses; we choose the refine set). */
export function resultOf(matches: readonly FullDataSet[]): SearchResult {
  if (matches.length === 0) return { kind: 'no-match' };
  if (matches.length === 1) return { kind: 'full', dataSet: matches[0] as FullDataSet };
  return {
    kind: 'refine',
    vehicles: matches.slice(0, MAX_REFINE_VEHICLES).map(({ vehicle: v }) => ({
      licenceNumber: v.licenceNumber,
      vin: v.vin,
      countryOfRegistration: v.countryOfRegistration,
      make: v.make,
      commercialType: v.commercialType,
      euCategory: v.euCategory,
    })),
  };
}

export type RegisterFailure = 'REGISTER-TIMEOUT' | 'REGISTER-UNAVAILABLE';

/**
 * A register search bounded by `deadlineMs`: a register that does not answer in time is abandoned (its
 * signal aborted) and reported, so the caller can answer with a fault instead of hanging.
 */
export async function searchWithDeadline(
  register: VehicleRegister,
  query: VehicleQuery,
  deadlineMs: number,
): Promise<{ ok: true; matches: readonly FullDataSet[] } | { ok: false; failure: RegisterFailure; detail: string }> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadlineMs));
  });
  try {
    const outcome = await Promise.race([register.search(query, { signal: controller.signal }), timeout]);
    if (outcome === 'timeout') {
      controller.abort();
      return { ok: false, failure: 'REGISTER-TIMEOUT', detail: `no answer from the register within ${deadlineMs} ms` };
    }
    return { ok: true, matches: outcome };
  } catch (e) {
    return { ok: false, failure: 'REGISTER-UNAVAILABLE', detail: (e instanceof Error ? e.message : String(e)).slice(0, 300) };
  } finally {
    clearTimeout(timer);
  }
}
