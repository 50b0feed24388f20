import * as pkijs from 'pkijs';
import { SmimeError } from './errors.js';

/**
 * pkijs Certificate objects for the few certificates we use again and again (ours, the peers'):
 * parsing one costs about a millisecond, more than the AES work on a typical message. Bounded, so
 * certificates embedded in hostile messages cannot grow it.
 */
const cache = new Map<string, pkijs.Certificate>();
const MAX_ENTRIES = 128;

export function pkijsCertificate(der: Uint8Array): pkijs.Certificate {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const hit = cache.get(key);
  if (hit) return hit;
  let cert: pkijs.Certificate;
  try {
    cert = pkijs.Certificate.fromBER(new Uint8Array(der));
  } catch (e) {
    throw new SmimeError('MALFORMED_CMS', `Certificate: ${(e as Error).message}`);
  }
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, cert);
  return cert;
}
