/**
 * Valid INT-I transactions for tests and benchmarks, built with the codec's own make* functions from
 * the NIST WSQ images in ../shared/fixtures/wsq/ (read there, never copied).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  makeTcn, makeType1, makeType2, makeType9, makeType13, makeType15, withContents, writeTransaction,
  type Minutia, type NistRecord, type Transaction, type Type4Record, type Type2Spec,
} from '../../appliance/fingerprint/index.js';

export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const NIST_DIR = `${FIXTURES}ansi-nist/nist-reference/`;
export const NIST_FILES = ['rec01_rec02_rec16.nst.an2', 'type-13-tip-eji-wsq.an2', 'type-15-palms.an2', 'type-4-slaps.an2', 'type-4-tpcard.an2', 'type-9-13-m1.an2', 'type-9-13-std.an2', 'type-9-14-std.an2', 'type-9-4-iafis.an2'];

export type Wsq = { readonly data: Buffer; readonly width: number; readonly height: number };
let wsqCache: Wsq[] | undefined;
/** fp-1 … fp-5: 500 ppi WSQ, ~800×752. */
export function wsqImages(): Wsq[] {
  wsqCache ??= [1, 2, 3, 4, 5].map((i) => {
    const data = readFileSync(`${FIXTURES}wsq/fp-${i}.wsq`);
    const sof = data.indexOf(Buffer.from([0xff, 0xa2]));
    return { data, height: data.readUInt16BE(sof + 6), width: data.readUInt16BE(sof + 8) };
  });
  return wsqCache;
}

export const NOW = new Date('2026-03-04T10:20:30Z');
export const TCN = makeTcn(2026, 1234);

export function header(tot: string, extra: { tcr?: string; tcn?: string; destination?: string; origin?: string } = {}) {
  return makeType1({ tot, destination: extra.destination ?? 'DE/BKA', origin: extra.origin ?? 'RO/IGPR_AFIS', tcn: extra.tcn ?? TCN, tcr: extra.tcr, priority: 4, now: NOW });
}

export function type4(idc: number, position: number, imp = 1, image = wsqImages()[(idc - 1) % 5]!): Type4Record {
  return { kind: 'image', type: 4, idc, imp, fgp: [position, 255, 255, 255, 255, 255], isr: 0, hll: image.width, vll: image.height, gca: 1, image: image.data };
}

/** A ten-print: 10 rolled fingers, 2 plain thumbs, 2 plain four-finger slaps (14 Type 4). */
export function tenPrint(): Type4Record[] {
  return Array.from({ length: 14 }, (_, i) => type4(i + 1, i + 1, i < 10 ? 1 : 0));
}

/** Deterministic minutiae spread over a width×height image. */
export function minutiae(n: number, seed = 1, width = 804, height = 752): Omit<Minutia, 'index'>[] {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () => ({
    x: Math.floor(next() * width), y: Math.floor(next() * height), theta: Math.floor(next() * 180),
    type: (1 + Math.floor(next() * 2)) as 1 | 2, quality: 40 + Math.floor(next() * 60),
  }));
}

function assemble(records: NistRecord[]): Transaction {
  return withContents({ records });
}

export function cps(type2: Partial<Type2Spec> = {}): Transaction {
  return assemble([header('CPS'), makeType2({ criminalReference: 'RO/P0012345', expectedCandidates: 1, ...type2 }), ...tenPrint()]);
}

export function pms(): Transaction {
  return assemble([header('PMS'), makeType2({ criminalReference: 'RO/P0012345', expectedCandidates: 5 }), ...tenPrint()]);
}

export function pmsPalms(): Transaction {
  const [a, b] = wsqImages();
  return assemble([
    header('PMS'),
    makeType2({ criminalReference: 'RO/P0012345', expectedCandidates: 5 }),
    makeType15({ idc: 1, impression: 10, source: 'RO/IGPR', date: '20260301', width: a!.width, height: a!.height, positions: [22], image: a!.data }),
    makeType15({ idc: 2, impression: 10, source: 'RO/IGPR', date: '20260301', width: b!.width, height: b!.height, positions: [24], image: b!.data }),
  ]);
}

export function latent(tot: 'MPS' | 'MMS', n = 24, seed = 7): Transaction {
  const image = wsqImages()[1]!;
  return assemble([
    header(tot),
    makeType2({ caseNumber: 'RO/C2026-0042', sequenceNumber: '0001', latentId: 'A', expectedCandidates: tot === 'MPS' ? 10 : 5 }),
    makeType9({ idc: 1, impression: 4, width: image.width, height: image.height, position: 2, quality: 60, minutiae: minutiae(n, seed, image.width, image.height), cores: [{ x: 400, y: 350, theta: 45 }] }),
    makeType13({ idc: 1, impression: 4, source: 'RO/IGPR', date: '20260301', width: image.width, height: image.height, positions: [2, 7], image: image.data }),
  ]);
}

export function sreHit(candidate = '001/001', score = '999999'): Transaction {
  return assemble([
    header('SRE', { tcr: makeTcn(2026, 77), destination: 'RO/IGPR_AFIS', origin: 'DE/BKA' }),
    makeType2({ criminalReference: 'DE/E999999999', mn1: 'P0012345', respondents: { tot: 'CPS', result: 'I', candidate, score } }),
    ...tenPrint(),
  ]);
}

export function sreNoHit(): Transaction {
  return assemble([
    header('SRE', { tcr: makeTcn(2026, 77), destination: 'RO/IGPR_AFIS', origin: 'DE/BKA' }),
    makeType2({ mn1: 'P0012345', respondents: { tot: 'CPS', result: 'N' } }),
  ]);
}

export function err(lines = '201: IDC -1 FIELD 1.009 WRONG CONTROL CHARACTER'): Transaction {
  return assemble([
    header('ERR', { tcr: makeTcn(2026, 77), destination: 'RO/IGPR_AFIS', origin: 'DE/BKA' }),
    makeType2({ mn1: 'P0012345', errorMessage: lines }),
  ]);
}

export const VALID: Record<string, () => Transaction> = { CPS: cps, PMS: pms, 'PMS palms': pmsPalms, MPS: () => latent('MPS'), MMS: () => latent('MMS'), 'SRE hit': sreHit, 'SRE no hit': sreNoHit, ERR: () => err() };

export function bytesOf(t: Transaction): Buffer {
  return writeTransaction(t);
}
