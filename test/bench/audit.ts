/**
 * Audit log benchmark: append rate (own transaction per entry, and batched), the cost of logging
 * in a DNA-pipeline-like workload, and export/verify speed for a large month.
 *
 *   node --import tsx test/bench/audit.ts [--entries 1000000] [--pipeline 1500] [--keep]
 *
 * Every figure comes with a baseline measured in the same run (a plain SQLite insert of a row of
 * the same size; the pipeline without audit). Disk: ~3 GB in a temp dir for a million entries.
 */
import { constants, createCipheriv, createDecipheriv, createHash, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, sign, verify } from 'node:crypto';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../../appliance/audit/log.js';
import { exportBundle } from '../../appliance/audit/export.js';
import { verifyBundle } from '../../appliance/audit/verify-audit.mjs';
import type { AuditEvent } from '../../appliance/audit/events.js';
import { TestClock, incomingRequest, incomingResponse, makePki, openDb, outgoingResponse, outgoingSearch, softwareSigner, tempDir } from '../audit/helpers.js';
import { numberOption } from './pipeline/figures.js';

const args = process.argv.slice(2);
const ENTRIES = numberOption('entries', 1_000_000);
const PIPELINE_MESSAGES = numberOption('pipeline', 1500);
const keep = args.includes('--keep');

const tmp = tempDir('audit-bench-');
const results: [string, string][] = [];
const report = (name: string, value: string) => {
  results.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
};
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en')}/s`;

const STATES = ['DE', 'AT', 'NL', 'FR', 'ES', 'PL', 'CZ', 'SE'] as const;
function eventFor(clock: TestClock, i: number): AuditEvent {
  const state = STATES[i % STATES.length]!;
  const body = { state, agency: 'NCP' } as const;
  switch (i % 4) {
    case 0:
      return outgoingSearch(clock, { peerState: state, fileManagingBody: body });
    case 1:
      return incomingRequest(clock, { peerState: state, searchingBody: body });
    case 2:
      return outgoingResponse(clock, { peerState: state, searchingBody: body });
    default:
      return incomingResponse(clock, { peerState: state, fileManagingBody: body });
  }
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) total += e.isDirectory() ? dirSize(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return total;
}

async function appendRates(): Promise<void> {
  console.log('\n== Append rate (file DB, WAL, synchronous=FULL) ==');
  const clock = new TestClock('2026-11-01T00:00:00.000Z');
  const db = openDb(tmp.path, 'append.sqlite');
  const log = new AuditLog(db, { clock: clock.now });
  const sample = eventFor(clock, 0);
  db.exec('CREATE TABLE baseline (id INTEGER PRIMARY KEY, at TEXT, body TEXT)');
  const insert = db.prepare('INSERT INTO baseline (at, body) VALUES (?, ?)');
  const body = JSON.stringify(sample);
  log.append(sample);
  report('entry size (canonical JSON leaf, an outgoing search)', `${Buffer.byteLength(log.entry(0)!.leaf)} bytes`);

  // Alternate blocks of baseline and audit so WAL growth and machine load hit both alike.
  const single = 6000;
  const block = 500;
  let baseSingle = 0;
  let auditSingle = 0;
  for (let done = 0; done < single; done += block) {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < block; i++) insert.run(clock.iso(), body);
    baseSingle += secs(t0);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < block; i++) {
      clock.advance(1);
      log.append(eventFor(clock, done + i));
    }
    auditSingle += secs(t0);
  }
  report('baseline: plain INSERT, one transaction each', `${rate(single, baseSingle)}  (${((baseSingle / single) * 1e3).toFixed(3)} ms)`);
  report('audit append, one transaction each', `${rate(single, auditSingle)}  (${((auditSingle / single) * 1e3).toFixed(3)} ms)`);

  const batched = 100_000;
  const batch = 1000;
  const baseTx = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(clock.iso(), body);
  });
  const auditTx = db.transaction((n: number, off: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(1);
      log.append(eventFor(clock, off + i));
    }
  });
  let baseBatched = 0;
  let auditBatched = 0;
  for (let i = 0; i < batched; i += batch) {
    let t0 = process.hrtime.bigint();
    baseTx(batch);
    baseBatched += secs(t0);
    t0 = process.hrtime.bigint();
    auditTx(batch, i);
    auditBatched += secs(t0);
  }
  report(`baseline: plain INSERT, ${batch} per transaction`, rate(batched, baseBatched));
  report(`audit append, ${batch} per transaction`, `${rate(batched, auditBatched)}  (${((auditBatched / batched) * 1e6).toFixed(1)} µs each)`);
  db.close();
}

/**
 * A stand-in for the DNA pipeline's work per inbound search, done in-process with a software RSA
 * key (the real pipeline signs and decrypts on the token, which is slower, so the share of the
 * audit log below is an upper bound): verify the sender's signature, unwrap the content key and
 * decrypt, compare (hash), encrypt and sign the answer, and the queue transaction (inbox row,
 * status update, outbox row) — with or without the two audit records in the same transaction.
 */
async function pipelineShare(): Promise<void> {
  console.log('\n== Logging cost under a DNA-pipeline-like load ==');
  const clock = new TestClock('2026-11-01T00:00:00.000Z');
  const db = openDb(tmp.path, 'pipeline.sqlite');
  const log = new AuditLog(db, { clock: clock.now });
  db.exec(`CREATE TABLE inbox (id INTEGER PRIMARY KEY, raw BLOB, status TEXT);
           CREATE TABLE outbox (id INTEGER PRIMARY KEY, raw BLOB, status TEXT);`);
  const ours = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const profile = Buffer.from(`<PRUEMDNA>${'<locus name="D3S1358"><allele>15</allele><allele>16</allele></locus>'.repeat(40)}</PRUEMDNA>`);
  // What a peer would send: content key wrapped for us, encrypted profile, signature.
  const seal = (plain: Buffer, toKey: typeof ours.publicKey, byKey: typeof ours.privateKey) => {
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', key, iv);
    const data = Buffer.concat([c.update(plain), c.final()]);
    const wrapped = publicEncrypt({ key: toKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
    return { wrapped, iv, data, sig: sign('sha256', data, byKey) };
  };
  const inbound = seal(profile, ours.publicKey, peer.privateKey);
  const insIn = db.prepare('INSERT INTO inbox (raw, status) VALUES (?, ?)');
  const updIn = db.prepare("UPDATE inbox SET status = 'done' WHERE id = ?");
  const insOut = db.prepare('INSERT INTO outbox (raw, status) VALUES (?, ?)');

  const one = (i: number, audit: boolean) => {
    const id = Number(insIn.run(inbound.data, 'new').lastInsertRowid);
    if (!verify('sha256', inbound.data, peer.publicKey, inbound.sig)) throw new Error('bad signature');
    const key = privateDecrypt({ key: ours.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, inbound.wrapped);
    const d = createDecipheriv('aes-256-cbc', key, inbound.iv);
    const plain = Buffer.concat([d.update(inbound.data), d.final()]);
    const digest = createHash('sha256').update(plain).digest('hex');
    const answer = seal(Buffer.from(`<PRUEMDNA><result>no-hit</result><ref>${digest}</ref></PRUEMDNA>`), peer.publicKey, ours.privateKey);
    db.transaction(() => {
      if (audit) {
        clock.advance(1);
        log.append(incomingRequest(clock, { channel: 'dna', messageType: 'DNA search request (Art. 3)', dataSupplied: { categories: ['dna-profile'], recordIds: [`DE-${i}`], count: 1, sha256: digest, byteLength: plain.length } }));
      }
      insOut.run(answer.data, 'queued');
      updIn.run(id);
      if (audit) log.append(outgoingResponse(clock, { channel: 'dna', messageType: 'DNA search answer', result: 'no-hit' }));
    })();
  };
  // Warm up, then alternate blocks so drift in machine load hits both sides alike.
  for (let i = 0; i < 100; i++) one(i, i % 2 === 0);
  let without = 0;
  let withAudit = 0;
  const block = 100;
  for (let done = 0; done < PIPELINE_MESSAGES; done += block) {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < block; i++) one(done + i, false);
    without += secs(t0);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < block; i++) one(done + i, true);
    withAudit += secs(t0);
  }
  const rWithout = PIPELINE_MESSAGES / without;
  const rWith = PIPELINE_MESSAGES / withAudit;
  report('baseline: pipeline without audit', `${Math.round(rWithout)} messages/s`);
  report('pipeline with 2 audit records per message (same tx)', `${Math.round(rWith)} messages/s`);
  report('throughput lost to logging (target ≤ 10 %)', `${((1 - rWith / rWithout) * 100).toFixed(1)} %`);
  db.close();
}

async function exportSpeed(): Promise<void> {
  console.log(`\n== Export of ${ENTRIES.toLocaleString('en')} entries (one month) ==`);
  const pki = await makePki(tmp.path);
  const signer = softwareSigner(pki);
  const clock = new TestClock('2026-11-01T00:00:00.000Z');
  const db = openDb(tmp.path, 'export.sqlite');
  const log = new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' });
  const batch = 5000;
  const fill = db.transaction((n: number, off: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(1);
      log.append(eventFor(clock, off + i));
    }
  });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < ENTRIES; i += batch) {
    fill(Math.min(batch, ENTRIES - i), i);
    if ((i / batch) % 40 === 0) process.stdout.write(`\r  filling… ${i.toLocaleString('en')}`);
  }
  process.stdout.write('\r');
  const fillS = secs(t0);
  report(`fill ${ENTRIES.toLocaleString('en')} entries (batched appends)`, `${fillS.toFixed(1)} s  (${rate(ENTRIES, fillS)})`);
  report('database size', `${(dirSize(tmp.path) / 1e6).toFixed(0)} MB (incl. WAL and other bench DBs)`);
  t0 = process.hrtime.bigint();
  const cp = await log.checkpoint(signer);
  report(`checkpoint (root of ${cp.size.toLocaleString('en')} leaves from stored nodes + RSA sign)`, `${(secs(t0) * 1e3).toFixed(1)} ms`);

  const all = { from: new Date('2026-11-01T00:00:00.000Z'), to: new Date('2026-12-01T00:00:00.000Z') };
  const full = join(tmp.path, 'full');
  t0 = process.hrtime.bigint();
  const r = await exportBundle(log, full, { filters: all, actor: 'bench', signer });
  const fullS = secs(t0);
  if (!r.ok) throw r.error;
  report('full-month export (JSONL + CSV, whole tree proves it)', `${fullS.toFixed(1)} s  (${rate(r.value.entries, fullS)}, ${(r.value.bytes / 1e6).toFixed(0)} MB, ${(r.value.bytes / 1e6 / fullS).toFixed(0)} MB/s)`);
  t0 = process.hrtime.bigint();
  const v = await verifyBundle(full, { trustAnchorSha256: r.value.trustAnchorsSha256 });
  const vS = secs(t0);
  if (!v.ok) throw new Error(JSON.stringify(v.errors.slice(0, 3)));
  report('verify-audit on the full export (recompute tree, digests)', `${vS.toFixed(1)} s  (${rate(r.value.entries, vS)})`);

  const filtered = join(tmp.path, 'filtered');
  t0 = process.hrtime.bigint();
  const f = await exportBundle(log, filtered, { filters: { ...all, state: 'DE' }, actor: 'bench', signer });
  const fS = secs(t0);
  if (!f.ok) throw f.error;
  report(`filtered export (state DE: ${f.value.entries.toLocaleString('en')} entries, a proof each)`, `${fS.toFixed(1)} s  (${rate(f.value.entries, fS)}, ${(f.value.bytes / 1e6).toFixed(0)} MB)`);
  t0 = process.hrtime.bigint();
  const fv = await verifyBundle(filtered, { trustAnchorSha256: f.value.trustAnchorsSha256 });
  const fvS = secs(t0);
  if (!fv.ok) throw new Error(JSON.stringify(fv.errors.slice(0, 3)));
  report('verify-audit on the filtered export (inclusion proofs)', `${fvS.toFixed(1)} s  (${rate(f.value.entries, fvS)})`);
  db.close();
}

try {
  console.log(`audit benchmark — node ${process.version}, ${new Date().toISOString()}`);
  await appendRates();
  await pipelineShare();
  await exportSpeed();
  console.log('\nSummary');
  for (const [k, v] of results) console.log(`  ${k}: ${v}`);
} finally {
  if (keep) console.log(`kept ${tmp.path}`);
  else tmp.cleanup();
}
