import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { auditCommand, parseWhen, type AuditCliDeps } from '../../appliance/audit/cli.js';
import { AuditLog, type AuditLeaf } from '../../appliance/audit/log.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { TestClock, incomingRequest, makePki, openDb, outgoingSearch, softwareSigner, tempDir, type TestPki } from './helpers.js';

const tmp = tempDir();
let pki: TestPki;
before(async () => {
  pki = await makePki(tmp.path);
});
after(() => tmp.cleanup());

function capture() {
  let out = '';
  let err = '';
  const io = {
    stdout: new Writable({ write(c, _e, cb) { out += String(c); cb(); } }),
    stderr: new Writable({ write(c, _e, cb) { err += String(c); cb(); } }),
  };
  return { io, out: () => out, err: () => err };
}

async function cli(argv: string[], deps?: AuditCliDeps) {
  const c = capture();
  const code = await auditCommand(argv, c.io, deps);
  return { code, out: c.out(), err: c.err() };
}

let n = 0;
function appliance() {
  const clock = new TestClock('2026-11-10T08:00:00.000Z');
  const db = openDb(tmp.path, `cli-${++n}.sqlite`);
  const log = new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' });
  const officers = new OfficerRegistry(db, log);
  const signer = softwareSigner(pki);
  const deps: AuditCliDeps = { context: async () => ({ log, officers, signer, actor: 'dpo-1' }) };
  return { clock, log, officers, deps };
}

test('help, and usage errors with exit status 2', async () => {
  const main = await cli(['--help']);
  assert.equal(main.code, 0);
  assert.match(main.out, /export .*\n.*verify .*\n.*officers/s);
  for (const c of ['export', 'verify', 'officers', 'devices']) {
    const h = await cli([c, '--help']);
    assert.equal(h.code, 0, c);
    assert.match(h.out, new RegExp(`usage: pruem audit ${c}`));
  }
  assert.equal((await cli([])).code, 2);
  assert.equal((await cli(['frobnicate'])).code, 2);
  assert.equal((await cli(['verify'])).code, 2);
  assert.equal((await cli(['verify', 'a', 'b'])).code, 2);
  assert.equal((await cli(['verify', 'a', '--trust-anchor-sha256', 'xyz'])).code, 2);
  assert.equal((await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30'])).code, 2);
  assert.equal((await cli(['export', '--from', '2026-13-01', '--to', '2026-11-30', '--out', 'x'])).code, 2);
  assert.equal((await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', 'x', '--channel', 'sms'])).code, 2);
  assert.equal((await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', 'x', '--bogus', '1'])).code, 2);
  assert.equal((await cli(['officers', 'promote'])).code, 2);
  const noCtx = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', join(tmp.path, 'never')]);
  assert.equal(noCtx.code, 3);
  assert.match(noCtx.err, /not available/);
});

test('dates: a day covers the whole UTC day, --to a day includes it', () => {
  assert.equal(parseWhen('2026-11-01', false)?.toISOString(), '2026-11-01T00:00:00.000Z');
  assert.equal(parseWhen('2026-11-30', true)?.toISOString(), '2026-12-01T00:00:00.000Z');
  assert.equal(parseWhen('2026-11-30T12:00:00.000Z', true)?.toISOString(), '2026-11-30T12:00:00.000Z');
  assert.equal(parseWhen('2026-02-30', false), null);
  assert.equal(parseWhen('yesterday', false), null);
});

test('export to a folder, then verify it without the appliance; a tampered copy fails', async () => {
  const { clock, log, deps } = appliance();
  for (let i = 0; i < 5; i++) log.append(outgoingSearch(clock, { peerState: 'DE' }));
  clock.set('2026-11-30T23:59:59.999Z');
  log.append(incomingRequest(clock));
  const out = join(tmp.path, 'cli-bundle');
  const e = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', out], deps);
  assert.equal(e.code, 0, e.err);
  const fp = /\n {2}([0-9A-F:]{95})\n/.exec(e.out)?.[1];
  assert.ok(fp, e.out);
  const lines = readFileSync(join(out, 'entries.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditLeaf);
  assert.ok(lines.some((l) => l.event.occurredAt === '2026-11-30T23:59:59.999Z'), 'the last day is included');

  const v = await cli(['verify', out, '--trust-anchor-sha256', fp]);
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, /RESULT: VALID/);
  const j = await cli(['verify', out, '--json']);
  assert.equal(JSON.parse(j.out).ok, true);

  appendFileSync(join(out, 'entries.jsonl'), lines.length ? readFileSync(join(out, 'entries.jsonl'), 'utf8').split('\n')[0] + '\n' : '');
  const bad = await cli(['verify', out, '--trust-anchor-sha256', fp]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /FAIL {2}\[DIGEST_MISMATCH\]/);
  assert.equal((await cli(['verify', join(tmp.path, 'no-such-bundle')])).code, 1);

  const again = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', out], deps);
  assert.equal(again.code, 1);
  assert.match(again.err, /error \[EXPORT_TARGET_NOT_EMPTY\]/);
  const dev = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', '/dev/null-no-such-drive'], deps);
  assert.equal(dev.code, 1);
  assert.match(dev.err, /error \[DEVICE_NOT_FOUND\]/);
});

test('officers: add, list, revoke, export — each change recorded with the CLI user', async () => {
  const { log, deps } = appliance();
  const add = await cli(['officers', 'add', '--id', 'officer-7', '--name', 'Ana Pop', '--unit', 'IGPR-NCP', '--channels', 'dna,fp'], deps);
  assert.equal(add.code, 0, add.err);
  assert.match(add.out, /officer-7 authorised for dna, fp/);
  const dup = await cli(['officers', 'add', '--id', 'officer-7', '--name', 'Ana Pop', '--channels', 'vrd'], deps);
  assert.equal(dup.code, 1);
  assert.match(dup.err, /OFFICER_EXISTS/);
  const badCh = await cli(['officers', 'add', '--id', 'o2', '--name', 'X', '--channels', 'sms'], deps);
  assert.equal(badCh.code, 1);
  assert.match(badCh.err, /OFFICER_INVALID/);
  assert.equal((await cli(['officers', 'add', '--id', 'o2'], deps)).code, 2);

  const list = await cli(['officers', 'list'], deps);
  assert.match(list.out, /^officer-7\tAna Pop \(IGPR-NCP\)\tdna,fp\tfrom .* by dpo-1\tin force$/m);
  const rev = await cli(['officers', 'revoke', '--id', 'officer-7', '--reason', 'left the unit'], deps);
  assert.equal(rev.code, 0, rev.err);
  assert.match((await cli(['officers', 'list'], deps)).out, /revoked .* by dpo-1/);
  assert.equal((await cli(['officers', 'list', '--active', '--json'], deps)).out.trim(), '[]');
  assert.match((await cli(['officers', 'revoke', '--id', 'officer-7'], deps)).err, /OFFICER_ALREADY_REVOKED/);

  const json = join(tmp.path, 'officers.json');
  const csv = join(tmp.path, 'officers.csv');
  assert.equal((await cli(['officers', 'export', '--out', json], deps)).code, 0);
  assert.equal((await cli(['officers', 'export', '--out', csv, '--format', 'csv'], deps)).code, 0);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).officers[0].revokeReason, 'left the unit');
  assert.match(readFileSync(csv, 'utf8'), /^officerId,name,unit,channels/);
  assert.match((await cli(['officers', 'export', '--out', json], deps)).err, /EXPORT_WRITE_FAILED/, 'never overwrites');

  const actors = [0, 1].map((i) => (JSON.parse(log.entry(i)!.leaf) as AuditLeaf).event).map((e) => e.kind === 'admin' && `${e.action}:${e.actor}`);
  assert.deepEqual(actors, ['officer-change:dpo-1', 'officer-change:dpo-1']);
});

test('devices lists what the detector finds', async () => {
  const deps: AuditCliDeps = {
    listDevices: async () => ({
      ok: true,
      value: [{ name: 'sdb1', path: '/dev/sdb1', removable: true, hotplug: true, transport: 'usb', sizeBytes: 16e9, type: 'part', mountpoint: null, fstype: 'vfat', label: 'DPA-2026', parent: '/dev/sdb', children: [] }],
    }),
  };
  const r = await cli(['devices'], deps);
  assert.equal(r.code, 0);
  assert.equal(r.out, '/dev/sdb1\t16.0 GB\tpart\tvfat\tDPA-2026\n');
  const real = await cli(['devices']);
  assert.equal(real.code, 0);
});

test("officers' API clients: add (credential once, or to a 0600 file), list, revoke — recorded with the CLI user", async () => {
  const { log, deps } = appliance();
  const add = await cli(['clients', 'add', '--name', 'case-system'], deps);
  assert.equal(add.code, 0, add.err);
  const credential = add.out.trim().split('\n').at(-1)!;
  assert.match(credential, /^pruem-oc\.[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
  const file = join(tmp.path, 'afis.key');
  const toFile = await cli(['clients', 'add', '--name', 'afis', '--out', file], deps);
  assert.equal(toFile.code, 0, toFile.err);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(toFile.out.includes(readFileSync(file, 'utf8').trim()), false, 'not printed when written to a file');
  assert.equal((await cli(['clients', 'add', '--name', 'afis'], deps)).code, 1, 'names are unique');
  const list = await cli(['clients', 'list', '--json'], deps);
  assert.deepEqual((JSON.parse(list.out) as Array<{ name: string; createdBy: string }>).map((c) => [c.name, c.createdBy]).sort(), [['afis', 'dpo-1'], ['case-system', 'dpo-1']]);
  assert.equal(list.out.includes(credential), false);
  assert.equal((await cli(['clients', 'revoke', '--name', 'case-system'], deps)).code, 0);
  assert.equal((await cli(['clients', 'revoke', '--name', 'case-system'], deps)).code, 1);
  assert.equal((await cli(['clients', 'frobnicate'], deps)).code, 2);
  const changes = log.search({ from: new Date(0), to: new Date('2100-01-01') }, { offset: 0, limit: 50 }).entries.filter((e) => e.record.event.kind === 'admin' && e.record.event.action === 'client-credential-change');
  assert.equal(changes.length, 3);
  assert.ok(changes.every((e) => e.record.event.kind === 'admin' && e.record.event.actor === 'dpo-1'));
});

test('a folder export outside the configured roots is refused; inside, it is written and read back', async () => {
  const { clock, log, officers } = appliance();
  log.append(outgoingSearch(clock, { peerState: 'DE' }));
  const root = join(tmp.path, 'export-root');
  const deps: AuditCliDeps = { context: async () => ({ log, officers, signer: softwareSigner(pki), actor: 'dpo-1', exportRoots: [root] }) };
  const outside = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', join(tmp.path, 'elsewhere')], deps);
  assert.equal(outside.code, 1);
  assert.match(outside.err, /error \[EXPORT_TARGET_NOT_ALLOWED\]/);
  const dotdot = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', `${root}/../elsewhere`], deps);
  assert.equal(dotdot.code, 1);
  const inside = await cli(['export', '--from', '2026-11-01', '--to', '2026-11-30', '--out', join(root, 'november')], deps);
  assert.equal(inside.code, 0, inside.err);
  assert.match(inside.out, /read back and verified/);
});
