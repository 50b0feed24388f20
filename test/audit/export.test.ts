import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, type AuditLeaf } from '../../appliance/audit/log.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { exportBundle, type ExportOptions } from '../../appliance/audit/export.js';
import { MemoryNodes, nodesForAppend } from '../../appliance/audit/merkle.js';
import { verifyBundle } from '../../appliance/audit/verify-audit.mjs';
import * as V from '../../appliance/audit/verify-audit.mjs';
import { run } from '../../appliance/util/exec.js';
import {
  TestClock,
  adminEvent,
  forgeSums,
  incomingRequest,
  incomingResponse,
  makePki,
  nonAutomated,
  openDb,
  outgoingResponse,
  outgoingSearch,
  runVerifyTxt,
  softwareSigner,
  tempDir,
  type TestPki,
} from './helpers.js';

const tmp = tempDir();
let pki: TestPki;
let forger: TestPki;
before(async () => {
  pki = await makePki(tmp.path);
  mkdirSync(join(tmp.path, 'forger'));
  forger = await makePki(join(tmp.path, 'forger'), 'forged');
});
after(() => tmp.cleanup());

let n = 0;
/** A log with traffic over two months: October (closed) and November (open). */
async function populated() {
  const clock = new TestClock('2026-10-20T08:00:00.000Z');
  const db = openDb(tmp.path, `export-${++n}.sqlite`);
  const log = new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' });
  const officers = new OfficerRegistry(db, log);
  const signer = softwareSigner(pki);
  officers.grant({ officerId: 'officer-7', name: 'Ana Pop', channels: ['dna', 'fp', 'vrd'], grantedBy: 'head-ncp' });
  const step = () => clock.advance(3_600_000);
  for (let i = 0; i < 6; i++) {
    step();
    log.append(outgoingSearch(clock, { peerState: i % 2 ? 'DE' : 'AT', fileManagingBody: { state: i % 2 ? 'DE' : 'AT', agency: 'X' } }));
    step();
    log.append(incomingRequest(clock));
    log.append(outgoingResponse(clock, { result: i % 3 ? 'no-hit' : 'hit' }));
  }
  await log.checkpoint(signer);
  clock.set('2026-11-02T10:00:00.000Z');
  log.append(adminEvent(clock, { action: 'login', actor: 'auditor-1' } as never));
  for (let i = 0; i < 5; i++) {
    step();
    log.append(incomingResponse(clock, { referenceNumbers: [`CASE-${i}`] }));
    log.append(nonAutomated(clock));
  }
  log.append(outgoingSearch(clock, { channel: 'vrd', referenceNumbers: ['CASE-X'], peerState: 'NL' }));
  await log.checkpoint(signer);
  return { clock, db, log, officers, signer };
}

function options(signer: ExportOptions['signer'], over: Partial<ExportOptions['filters']> = {}, extra: Partial<ExportOptions> = {}): ExportOptions {
  return { filters: { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2027-01-01T00:00:00.000Z'), ...over }, actor: 'dpo-1', signer, ...extra };
}

let outN = 0;
const outDir = () => join(tmp.path, `bundle-${++outN}`);

function codes(r: { errors: { code: string }[] }): string[] {
  return [...new Set(r.errors.map((e) => e.code))];
}

async function assertProcedureFails(dir: string, label: string): Promise<void> {
  const steps = await runVerifyTxt(dir);
  assert.ok(steps.some((s) => s.code !== 0 && (s.command.startsWith('openssl cms') || s.command.startsWith('sha256sum'))), `${label}: openssl/sha256sum steps must fail`);
  assert.ok(steps.some((s) => s.code !== 0 && s.command.startsWith('node verify-audit.mjs')), `${label}: the bundled verifier must fail`);
}

test('an untouched export passes the verifier and every command of VERIFY.txt', async () => {
  const { log, officers, signer } = await populated();
  const dir = outDir();
  const r = await exportBundle(log, dir, options(signer, {}, { officers }));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.value.entries, log.period('2026-10')!.size + r.value.anchor.size);

  const report = await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 });
  assert.deepEqual(report.errors, []);
  assert.equal(report.ok, true);
  assert.ok(report.facts.some((f) => /period 2026-10: all \d+ entries present/.test(f)));

  const steps = await runVerifyTxt(dir);
  assert.ok(steps.length >= 5);
  for (const s of steps) assert.equal(s.code, 0, `${s.command}\n${s.output}`);
  assert.ok(steps.some((s) => s.command.startsWith('openssl cms -verify') && /CMS Verification successful/.test(s.output)));
  assert.ok(steps.some((s) => s.command.startsWith('sha256sum -c') && !/FAILED/.test(s.output)));
  assert.ok(steps.some((s) => s.command.startsWith('node verify-audit.mjs') && /RESULT: VALID/.test(s.output)));
  assert.ok(steps.filter((s) => s.command.startsWith('openssl dgst')).every((s) => /Verified OK/.test(s.output)));

  // The files the issue asks for.
  const files = r.value.files;
  for (const f of ['entries.jsonl', 'entries.csv', 'SHA256SUMS', 'SHA256SUMS.p7s', 'VERIFY.txt', 'verify-audit.mjs', 'manifest.json', 'deletions.jsonl', 'proofs/consistency.json', 'proofs/inclusion.jsonl', 'certs/audit.pem', 'certs/chain.pem', 'certs/trust-anchor.pem', 'certs/FINGERPRINTS.txt', 'officers.json', 'officers.csv', 'export-event.jsonl']) {
    assert.ok(files.includes(f), f);
  }
  const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
  for (const f of files.filter((x) => !x.startsWith('SHA256SUMS'))) assert.ok(sums.includes(`  ${f}\n`), `${f} in SHA256SUMS`);
  assert.match(readFileSync(join(dir, 'certs/FINGERPRINTS.txt'), 'utf8'), /SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);

  // The export is itself an audited event, proven in the bundle.
  const ev = JSON.parse(readFileSync(join(dir, 'export-event.jsonl'), 'utf8')) as AuditLeaf;
  assert.equal(ev.event.kind === 'admin' && ev.event.action, 'export');
  assert.equal(ev.event.kind === 'admin' && ev.event.details?.exportId, r.value.exportId);

  // CSV: header + one row per entry.
  const csv = readFileSync(join(dir, 'entries.csv'), 'utf8').trimEnd().split('\r\n');
  assert.equal(csv.length, r.value.entries + 1);
  assert.match(csv[0]!, /^index,period,leafIndex,recordedAt,kind,occurredAt,channel/);

  // The verifier runs on its own: a copy of the bundle far from the repository, plain node.
  const elsewhere = join(tmp.path, 'carried-away');
  cpSync(dir, elsewhere, { recursive: true });
  const alone = await run(process.execPath, ['verify-audit.mjs', '.', '--trust-anchor-sha256', r.value.trustAnchorsSha256[0]!], { cwd: elsewhere });
  assert.equal(alone.code, 0, alone.stdout.toString());
});

type Tamper = (lines: string[]) => string[];
const TAMPERS: [string, Tamper][] = [
  ['alter an entry (back-date it)', (l) => l.map((x, i) => (i === 2 ? x.replace('"occurredAt":"2026-', '"occurredAt":"2025-') : x))],
  ['delete an entry', (l) => l.filter((_, i) => i !== 3)],
  ['reorder two entries', (l) => l.map((x, i) => (i === 1 ? l[4]! : i === 4 ? l[1]! : x))],
  ['truncate the last entry', (l) => l.slice(0, -1)],
  ['insert a copy of an entry', (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)]],
];

for (const mode of ['full', 'filtered'] as const) {
  test(`tampering with a ${mode} export is detected by verify and by VERIFY.txt`, async () => {
    const { log, signer } = await populated();
    const base = outDir();
    const r = await exportBundle(log, base, options(signer, mode === 'filtered' ? { state: 'AT' } : {}));
    assert.ok(r.ok);
    const manifest = JSON.parse(readFileSync(join(base, 'manifest.json'), 'utf8')) as { periods: { coverage: string }[] };
    assert.ok(manifest.periods.every((p) => p.coverage === (mode === 'full' ? 'complete' : 'partial')));
    const fp = r.value.trustAnchorsSha256;
    assert.equal((await verifyBundle(base, { trustAnchorSha256: fp })).ok, true);

    for (const [label, tamper] of TAMPERS) {
      // (a) The forger changes entries.jsonl only.
      const a = outDir();
      cpSync(base, a, { recursive: true });
      const lines = readFileSync(join(a, 'entries.jsonl'), 'utf8').trimEnd().split('\n');
      assert.ok(lines.length >= 5);
      const changed = tamper(lines);
      assert.notDeepEqual(changed, lines, `${label} changes the file`);
      writeFileSync(join(a, 'entries.jsonl'), `${changed.join('\n')}\n`);
      const ra = await verifyBundle(a, { trustAnchorSha256: fp });
      assert.equal(ra.ok, false, `${label} (a)`);
      assert.ok(codes(ra).includes('DIGEST_MISMATCH'), `${label} (a): ${codes(ra).join(',')}`);
      await assertProcedureFails(a, `${label} (a)`);

      // (b) … and recomputes SHA256SUMS, which they cannot re-sign.
      const b = outDir();
      cpSync(a, b, { recursive: true });
      await forgeSums(b);
      const rb = await verifyBundle(b, { trustAnchorSha256: fp });
      assert.equal(rb.ok, false, `${label} (b)`);
      assert.ok(codes(rb).includes('SUMS_SIGNATURE_ERROR'), `${label} (b): ${codes(rb).join(',')}`);
      // Even ignoring the outer signature, the entries no longer match the signed checkpoints.
      assert.ok(codes(rb).some((c) => ['INCLUSION_PROOF_ERROR', 'COMPLETENESS_ERROR', 'ENTRY_ORDER_ERROR', 'ENTRY_COUNT_MISMATCH'].includes(c)), `${label} (b): ${codes(rb).join(',')}`);
      const steps = await runVerifyTxt(b);
      assert.notEqual(steps.find((s) => s.command.startsWith('openssl cms'))?.code, 0, `${label} (b): openssl cms -verify must fail`);
      assert.notEqual(steps.find((s) => s.command.startsWith('node verify-audit.mjs'))?.code, 0);
    }
  });
}

test('a forger who re-signs everything with their own key is caught by the trust anchor fingerprint', async () => {
  const { log, signer } = await populated();
  const dir = outDir();
  const r = await exportBundle(log, dir, options(signer));
  assert.ok(r.ok);
  const genuine = r.value.trustAnchorsSha256;
  // Build a whole forged log and bundle with the forger's key: internally consistent.
  const clock = new TestClock('2026-11-03T08:00:00.000Z');
  const flog = new AuditLog(openDb(tmp.path, 'forged.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
  flog.append(outgoingSearch(clock));
  const fdir = outDir();
  const fr = await exportBundle(flog, fdir, options(softwareSigner(forger)));
  assert.ok(fr.ok);
  assert.equal((await verifyBundle(fdir)).ok, true, 'self-consistent without a pinned anchor');
  const pinned = await verifyBundle(fdir, { trustAnchorSha256: genuine });
  assert.deepEqual(codes(pinned), ['TRUST_ANCHOR_MISMATCH']);
  const fingerprint = (await runVerifyTxt(fdir)).find((s) => s.command.startsWith('openssl x509'))?.output ?? '';
  assert.ok(!fingerprint.replace(/:/g, '').toLowerCase().includes(genuine[0]!), 'STEP 1 shows a different fingerprint');
});

test('filters select by partner State, channel, officer and reference number; proofs=each also verifies', async () => {
  const { log, signer } = await populated();
  const cases: [Partial<ExportOptions['filters']>, (l: AuditLeaf) => boolean][] = [
    [{ state: 'DE' }, (l) => l.event.kind !== 'admin' && l.event.peerState === 'DE'],
    [{ channel: 'vrd' }, (l) => l.event.kind !== 'admin' && l.event.channel === 'vrd'],
    [{ officerId: 'officer-9' }, (l) => l.event.kind === 'non-automated' && l.event.officerId === 'officer-9'],
    [{ referenceNumber: 'CASE-3' }, (l) => l.event.kind === 'exchange' && l.event.referenceNumbers.includes('CASE-3')],
    [{ from: new Date('2026-11-01T00:00:00.000Z'), to: new Date('2026-11-02T12:00:00.000Z') }, (l) => l.event.occurredAt >= '2026-11-01' && l.event.occurredAt < '2026-11-02T12'],
  ];
  for (const [filter, expect] of cases) {
    const dir = outDir();
    const r = await exportBundle(log, dir, options(signer, filter, { proofs: filter.state ? 'each' : 'auto' }));
    assert.ok(r.ok);
    const leaves = readFileSync(join(dir, 'entries.jsonl'), 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLeaf);
    assert.ok(leaves.length > 0, JSON.stringify(filter));
    assert.ok(leaves.every(expect), JSON.stringify(filter));
    const all = log.queryEntries({ from: new Date(0), to: new Date('2100-01-01T00:00:00.000Z') }, -1, 1e9, 1e6).map((e) => JSON.parse(e.leaf) as AuditLeaf);
    const within = all.filter((l) => l.index < r.value.anchor.size + log.period('2026-11')!.firstIndex && l.event.occurredAt >= (filter.from ?? new Date('2026-01-01')).toISOString() && l.event.occurredAt < (filter.to ?? new Date('2027-01-01')).toISOString());
    assert.equal(leaves.length, within.filter(expect).length, `all matching entries exported for ${JSON.stringify(filter)}`);
    const report = await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 });
    assert.deepEqual(report.errors, [], JSON.stringify(filter));
  }
});

test('consecutive exports are consistent; a rewritten history is exposed by the next export', async () => {
  const { clock, db, log, signer } = await populated();
  const first = outDir();
  const r1 = await exportBundle(log, first, options(signer, { state: 'AT' }));
  assert.ok(r1.ok);
  assert.equal(JSON.parse(readFileSync(join(first, 'manifest.json'), 'utf8')).previousAnchor, null);

  // More traffic, and a month boundary, before the authority's next visit.
  for (let i = 0; i < 4; i++) log.append(incomingRequest(clock));
  clock.set('2026-12-03T09:00:00.000Z');
  log.append(outgoingSearch(clock));
  const second = outDir();
  const r2 = await exportBundle(log, second, options(signer, { channel: 'fp' }));
  assert.ok(r2.ok);
  const m2 = JSON.parse(readFileSync(join(second, 'manifest.json'), 'utf8'));
  assert.ok(m2.previousAnchor);
  const rep2 = await verifyBundle(second, { trustAnchorSha256: r2.value.trustAnchorsSha256, previous: first });
  assert.deepEqual(rep2.errors, []);
  assert.ok(rep2.facts.some((f) => /previous export's checkpoint \(2026-11 size \d+\) is consistent/.test(f)));
  assert.ok(rep2.facts.some((f) => /previous export in .* shows exactly the checkpoint/.test(f)));
  const c = JSON.parse(readFileSync(join(second, 'proofs/consistency.json'), 'utf8'));
  assert.equal(c.length, 1);
  // Comparing against a different earlier export is refused.
  const rep2b = await verifyBundle(second, { previous: second });
  assert.ok(codes(rep2b).includes('PREVIOUS_EXPORT_MISMATCH'));

  // An insider rewrites November's first entry and rebuilds the tree (and has the key to re-sign).
  const nov = log.period('2026-11')!;
  const victim = log.entry(nov.firstIndex)!;
  db.prepare('UPDATE audit_entries SET leaf = ? WHERE idx = ?').run(victim.leaf.replace('auditor-1', 'someone-else'), victim.index);
  db.prepare("DELETE FROM audit_nodes WHERE period = '2026-11'").run();
  const mem = new MemoryNodes();
  for (let i = 0; i < nov.size; i++) {
    const e = log.entry(nov.firstIndex + i)!;
    for (const node of nodesForAppend(mem, i, V.leafHash(Buffer.from(e.leaf)))) {
      mem.set(node.level, node.index, node.hash);
      db.prepare('INSERT INTO audit_nodes (period, level, pos, hash) VALUES (?, ?, ?, ?)').run('2026-11', node.level, node.index, node.hash);
    }
  }
  db.prepare("UPDATE audit_periods SET final_checkpoint_id = NULL WHERE id = '2026-11'").run();
  db.prepare("DELETE FROM audit_checkpoints WHERE period IN ('2026-11', '2026-12')").run();
  db.prepare("UPDATE audit_exports SET anchor_body = anchor_body").run();
  // The last export record still names the checkpoint the authority saw in the first bundle? No:
  // the second export's anchor (December) is the previous one now; rewind to the first export's.
  db.prepare('DELETE FROM audit_exports WHERE id = ?').run(r2.value.exportId);
  const third = outDir();
  const r3 = await exportBundle(log, third, options(signer, { channel: 'fp' }));
  assert.ok(r3.ok);
  const rep3 = await verifyBundle(third, { trustAnchorSha256: r3.value.trustAnchorsSha256, previous: first });
  assert.ok(codes(rep3).includes('CONSISTENCY_PROOF_ERROR'), codes(rep3).join(','));
});

test('bad requests are error values', async () => {
  const { log, signer } = await populated();
  const bad = [
    { from: new Date('2027-01-01T00:00:00.000Z'), to: new Date('2026-01-01T00:00:00.000Z') },
    { from: new Date('invalid') },
    { state: 'XX' as never },
    { channel: 'sms' as never },
    { officerId: 'a b' },
  ];
  for (const f of bad) {
    const r = await exportBundle(log, outDir(), options(signer, f));
    assert.equal(!r.ok && r.error.code, 'FILTER_INVALID', JSON.stringify(f));
  }
  const dir = outDir();
  mkdirSync(dir);
  writeFileSync(join(dir, 'something'), 'x');
  const r = await exportBundle(log, dir, options(signer));
  assert.equal(!r.ok && r.error.code, 'EXPORT_TARGET_NOT_EMPTY');
  assert.deepEqual(readdirSync(dir), ['something']);
  const failing = { ...signer, signCmsDetached: async () => Promise.reject(new Error('token removed')) };
  const r2 = await exportBundle(log, outDir(), options(failing));
  assert.equal(!r2.ok && r2.error.code, 'SIGNER_FAILED');
  const lastTwo = [log.period('2026-11')!.size - 2, log.period('2026-11')!.size - 1].map((i) => JSON.parse(log.entry(log.period('2026-11')!.firstIndex + i)!.leaf) as AuditLeaf);
  assert.deepEqual(lastTwo.map((l) => l.event.kind === 'admin' && [l.event.action, l.event.outcome]), [['export', 'success'], ['export', 'failure']]);
});

test('a large period is proven from the tree loaded into memory (proofs for every entry)', async () => {
  const clock = new TestClock('2026-11-01T00:00:00.000Z');
  const log = new AuditLog(openDb(tmp.path, 'large.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
  const signer = softwareSigner(pki);
  for (let i = 0; i < 300; i++) {
    clock.advance(1000);
    log.append(i % 3 ? incomingRequest(clock) : outgoingSearch(clock));
  }
  for (const proofs of ['each', 'auto'] as const) {
    const dir = outDir();
    const r = await exportBundle(log, dir, options(signer, proofs === 'auto' ? { channel: 'fp' } : {}, { proofs }));
    assert.ok(r.ok);
    const proofLines = readFileSync(join(dir, 'proofs/inclusion.jsonl'), 'utf8').trimEnd().split('\n').length;
    assert.equal(proofLines, r.value.entries);
    assert.ok(r.value.entries > 64);
    const rep = await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 });
    assert.deepEqual(rep.errors, []);
  }
});

test('the tree alone catches a change to any entry, even with SHA256SUMS forged', async () => {
  const { log, signer } = await populated();
  for (const filter of [{}, { state: 'AT' as const }]) {
    const dir = outDir();
    const r = await exportBundle(log, dir, options(signer, filter));
    assert.ok(r.ok);
    const file = join(dir, 'entries.jsonl');
    const original = readFileSync(file, 'utf8');
    const lines = original.trimEnd().split('\n');
    const originalSums = readFileSync(join(dir, 'SHA256SUMS'));
    for (let i = 0; i < lines.length; i++) {
      const variants: [string, string[]][] = [
        ['alter', lines.map((l, j) => (j === i ? l.replace('"recordedAt":"2026', '"recordedAt":"2025') : l))],
        ['delete', lines.filter((_, j) => j !== i)],
      ];
      if (i > 0) variants.push(['swap with previous', lines.map((l, j) => (j === i ? lines[i - 1]! : j === i - 1 ? lines[i]! : l))]);
      for (const [what, changed] of variants) {
        assert.notDeepEqual(changed, lines);
        writeFileSync(file, `${changed.join('\n')}\n`);
        await forgeSums(dir);
        const rep = await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 });
        const treeLevel = codes(rep).filter((c) => c !== 'SUMS_SIGNATURE_ERROR');
        assert.ok(treeLevel.length > 0, `${JSON.stringify(filter)} ${what} line ${i + 1}: ${codes(rep).join(',')}`);
      }
    }
    writeFileSync(file, original);
    writeFileSync(join(dir, 'SHA256SUMS'), originalSums);
    assert.equal((await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 })).ok, true);
  }
});
