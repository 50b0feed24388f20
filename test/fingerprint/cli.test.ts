import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTcn, parseTransaction, writeTransaction } from '../../appliance/fingerprint/index.js';
import { FIXTURES, NIST_DIR, cps, latent } from './samples.js';

const PRUEM = fileURLToPath(new URL('../../appliance/cli/pruem.ts', import.meta.url));

/** Runs the real CLI as a process (tsx), as a technician would. */
function pruem(...args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', PRUEM, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const dir = mkdtempSync(join(tmpdir(), 'nist-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('nist check: a valid file prints nothing and exits 0; an invalid one prints the Annex lines and exits 1', () => {
  const valid = join(dir, 'valid.an2');
  writeFileSync(valid, writeTransaction(latent('MPS')));
  const ok = pruem('nist', 'check', valid);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.length, 0);
  assert.equal(pruem('nist', 'check', valid, '--self', 'DE', '--peer', 'RO').status, 0);
  const wrongPeer = pruem('nist', 'check', valid, '--peer', 'AT');
  assert.equal(wrongPeer.status, 1);
  assert.equal(wrongPeer.stdout.toString(), '003: IDC -1 FIELD 1.008 ORIGIN RO IS NOT THE SENDER AT\n');

  const nist = pruem('nist', 'check', `${NIST_DIR}type-9-13-m1.an2`);
  assert.equal(nist.status, 1);
  const out = nist.stdout.toString().trimEnd().split('\n');
  assert.ok(out.length > 5);
  for (const line of out) assert.match(line, /^\d{3}: IDC -?\d+ FIELD \d+\.\d{3,} \S/);
  assert.ok(out.includes('116: IDC -1 FIELD 1.004 UNKNOWN TYPE OF TRANSACTION AMN'));

  const broken = join(dir, 'broken.an2');
  writeFileSync(broken, writeTransaction(cps()).subarray(0, 5000));
  const b = pruem('nist', 'check', broken);
  assert.equal(b.status, 1);
  assert.match(b.stdout.toString(), /^110: IDC 1 FIELD 4\.001 LEN \d+ BEYOND THE END OF THE FILE/);

  const missing = pruem('nist', 'check', join(dir, 'nope.an2'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read/);
});

test('nist dump: JSON records with fields, binary data as a byte count, never the bytes', () => {
  const d = pruem('nist', 'dump', `${NIST_DIR}type-9-13-std.an2`);
  assert.equal(d.status, 0, d.stderr);
  const json = JSON.parse(d.stdout.toString()) as { records: { type: number; idc: number; fields: Record<string, unknown> }[] };
  assert.deepEqual(json.records.map((r) => [r.type, r.idc]), [[1, -1], [2, 0], [9, 1], [13, 1]]);
  assert.equal(json.records[0]!.fields['1.004'], 'AMN');
  assert.deepEqual(json.records[0]!.fields['1.003'], [['1', '3'], ['2', '00'], ['9', '01'], ['13', '01']]);
  const image = json.records[3]!.fields['13.999'] as { binary: boolean; bytes: number };
  assert.equal(image.binary, true);
  assert.ok(image.bytes > 100_000);
  assert.ok(d.stdout.length < 40_000, 'no image bytes in the dump');

  const t4 = JSON.parse(pruem('nist', 'dump', `${NIST_DIR}type-4-slaps.an2`).stdout.toString()) as { records: { type: number; fields: Record<string, unknown> }[] };
  assert.deepEqual(t4.records[2]!.fields['4.004'], [14]);
  assert.deepEqual(Object.keys(t4.records[2]!.fields['4.009'] as object), ['binary', 'bytes']);
});

test('nist build: a JSON description becomes a valid transaction; bad specs exit 1 with the reason', () => {
  const spec = {
    records: [
      { type: 1, fields: { '1.002': '0300', '1.004': 'CPS', '1.005': '20260304', '1.006': 4, '1.007': 'DE/BKA', '1.008': 'RO/IGPR', '1.009': makeTcn(2026, 42), '1.011': '19.68', '1.012': '19.68', '1.013': [['INT-I', '4.22']], '1.014': '20260304102030Z' } },
      { type: 2, idc: 0, fields: { '2.003': '0422', '2.010': 'RO/P1', '2.320': 1 } },
      { type: 4, idc: 1, imp: 1, fgp: [1], hll: 804, vll: 752, image: { file: `${FIXTURES}wsq/fp-1.wsq` } },
      { type: 4, idc: 2, imp: 1, fgp: [2], hll: 804, vll: 752, image: { base64: readFileSync(`${FIXTURES}wsq/fp-2.wsq`).toString('base64') } },
    ],
  };
  const specFile = join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(spec));
  const out = join(dir, 'built.an2');
  const b = pruem('nist', 'build', specFile, '--out', out);
  assert.equal(b.status, 0, b.stderr);
  const built = readFileSync(out);
  const parsed = parseTransaction(built);
  assert.ok(parsed.ok);
  assert.equal(pruem('nist', 'check', out).status, 0);
  // To stdout, the same bytes.
  assert.ok(pruem('nist', 'build', specFile).stdout.equals(built));

  writeFileSync(specFile, JSON.stringify({ records: [{ type: 2, fields: {} }] }));
  const bad = pruem('nist', 'build', specFile);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /first record must be Type 1/);
  writeFileSync(specFile, JSON.stringify({ records: [{ type: 1, fields: { '1.004': 'CPS' } }, { type: 4, idc: 1, imp: 1, fgp: [1], hll: 1, vll: 1, image: { file: 'missing.wsq' } }] }));
  assert.match(pruem('nist', 'build', specFile).stderr, /cannot read image file .*missing\.wsq/);
  assert.equal(pruem('nist', 'frobnicate').status, 2);
});
