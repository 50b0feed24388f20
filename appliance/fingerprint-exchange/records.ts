import type { ExchangeRecord } from '../exchange/handler.js';
import { readType1 } from '../fingerprint/Type1Record.js';
import { type1, type Transaction } from '../fingerprint/transaction.js';

/**
 * The data supplied in a fingerprint exchange, by reference for the Art. 30 record: the TCN and a
 * summary of the record types (`type-4:14`), with their count — never the images or minutiae (the
 * pipeline adds the SHA-256 and length of the file as exchanged).
 */
export function fingerprintData(t: Transaction): ExchangeRecord['data'] {
  const tcn = readType1(type1(t)).tcn ?? '';
  const counts = new Map<number, number>();
  for (const r of t.records) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const types = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([type, n]) => `type-${type}:${n}`);
  const biometric = t.records.filter((r) => r.type === 4 || r.type === 9 || r.type === 13 || r.type === 15).length;
  return { categories: biometric ? ['dactyloscopic-data'] : ['none'], recordIds: [tcn, ...types].filter((s) => s !== ''), count: biometric };
}
