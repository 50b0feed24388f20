/**
 * Fingerprints: ANSI/NIST-ITL transactions as profiled by INT-I 4.22 (Annex ch.2, SPEC §3).
 * The public API of the codec — what the exchange (appliance/fingerprint-exchange/) and the AFIS
 * adapter (appliance/fingerprint/afis/) use. Names here are stable.
 *
 * Reading and writing (transaction.ts; one module per record type):
 *   parseTransaction(bytes: Buffer): Result<Transaction, NistError[]>   never throws; lengths checked
 *   writeTransaction(t: Transaction): Buffer                              write(parse(x)) == x; LEN computed
 *   withContents(t): Transaction          CNT (1.003) rebuilt from the records (after adding/removing)
 *   type1(t): TaggedRecord                the header;  recordIdc(r): number (-1 for Type 1)
 *   Transaction { records: NistRecord[] } NistRecord = TaggedRecord | Type4Record | OpaqueRecord
 * TaggedRecord.ts   tagged grammar: getField, fieldText, withField, withoutField, subfields, joinSubfields,
 *                   taggedIdc, FS/GS/RS/US; TaggedField { tag (as written), number, value: string | Buffer }
 * Type1Record.ts    readType1(r) → Type1 (tot, tcn, tcr, destination, origin, priority, …); makeType1(spec)
 * Type2Record.ts    readType2(r) → Type2 (respondents = RLS 2.064, errorMessage = ERM, expectedCandidates = ENC …);
 *                   makeType2(spec)
 * Type4Record.ts    Type4Record { idc, imp, fgp[6], isr, hll, vll, gca, image }; fingerPositions(r)
 * Type9Record.ts    readMinutiae(r) → { set: MinutiaeSet { minutiae: Minutia{index,x,y,theta,type,quality}[],
 *                   positions, width, height, cores, deltas, … }, problems }; makeType9(spec)
 * Type13Record.ts   readLatentImage(r) / makeType13(spec);  Type15Record.ts readPalmImage(r) / makeType15(spec)
 *
 * Validation:  validateIntI(t, { self?, peer? }): NistError[]   (validate.ts; all errors, file order;
 *              self/peer: DAI must name us, ORI the sending State, else 003)
 * Errors:      NistError { code, idc, field, text }; formatNistError(e) → `<code>: IDC <idc> FIELD <t.fff> <text>`;
 *              ermText(errors) → the ERM (2.074) of an ERR: ≤ 100 lines of ≤ 128 characters;
 *              formatNistErrors(list) → all lines, LF-separated (CLI); NIST_ERROR_CODES (Table 3)
 * TCN:         makeTcn(year, serial), checkTcn(s) (tcn.ts)
 * Limits:      TOTS, isTot, isRequestTot, TOT_RULES (Table 2), CANDIDATE_LIMITS (Table 11),
 *              searchType(tot, palm), candidateLimit(tot, palm), searchTypeOf(t) (tot.ts / validate.ts)
 * Builder:     buildTransaction(spec, { baseDir }) from a JSON description (build.ts; `pruem nist build`)
 * Images:      wsqFrame(data), jpeg2000Frame(data) → { width, height } from the image header (nothing decoded)
 * Dump:        dumpTransaction(t) → { records: [{ type, idc, fields: { 'T.FFF': value } }] } (dump.ts)
 * CLI:         `pruem nist check|dump|build` (cli.ts)
 */
export * from './errors.js';
export * from './TaggedRecord.js';
export * from './Type1Record.js';
export * from './Type2Record.js';
export * from './Type4Record.js';
export * from './OpaqueRecord.js';
export * from './Type9Record.js';
export * from './Type13Record.js';
export * from './Type15Record.js';
export * from './transaction.js';
export * from './tcn.js';
export * from './tot.js';
export * from './validate.js';
export * from './build.js';
export * from './dump.js';
export * from './wsq.js';
export * from './jpeg2000.js';
