import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseConfig, resolvePaths, type GatewayConfig } from '../../appliance/config/config.js';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { ensureDevelopmentToken, tokenOptionsFromConfig } from '../../provisioning/index.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { Statistics } from '../../appliance/exchange/statistics.js';
import { adminAuditSink, auditPort, configFilePort, officersPort, provisioningPort, statisticsPort } from '../../appliance/api/wiring/index.js';
import { TestClock, makePki, softwareSigner, outgoingSearch, incomingResponse, incomingRequest, outgoingResponse } from '../audit/helpers.js';
import type { AuditExportProgress } from '../../appliance/api/wire.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function devToken(): Promise<{ config: GatewayConfig; token: Token }> {
  const dir = tmp('pruem-wiring-');
  const parsed = parseConfig({ memberState: 'RO', dataDir: 'var' });
  assert.ok(parsed.ok);
  const config = resolvePaths(parsed.config, dir);
  await ensureDevelopmentToken(config);
  return { config, token: await Token.open(tokenOptionsFromConfig(config)) };
}

test('provisioning port on a real SoftHSM2 token: certificates, a CSR openssl verifies, peer import, PIN set-up', async () => {
  const { config, token } = await devToken();
  try {
    const port = provisioningPort({ token, config: () => config });
    const state = await port.tokenState();
    assert.deepEqual([state.present, state.loggedIn, state.pinLocked, state.label], [true, true, false, 'pruem']);

    const own = await port.certificates();
    assert.deepEqual(own.map((c) => [c.id, c.usage, c.development]), [
      ['own:ncp-sign', 'signing', true],
      ['own:ncp-decrypt', 'encryption', true],
      ['own:audit', 'audit', true],
    ]);

    const csr = await port.generateCsr({ usage: 'signing', commonName: 'RO NCP signing', organization: 'Politia Romana', country: 'RO', newKey: false });
    const file = join(config.dataDir, 'sign.csr');
    writeFileSync(file, csr.pem);
    const text = (await runOk('openssl', ['req', '-in', file, '-noout', '-verify', '-subject'])).toString();
    assert.match(text, /CN\s*=\s*RO NCP signing/);
    await assert.rejects(port.generateCsr({ usage: 'signing', commonName: 'x', organization: 'y', country: 'RO', newKey: true }), (e: Error & { code?: string }) => e.code === 'VALIDATION_FAILED');
    await assert.rejects(port.generateCsr({ usage: 'encryption', commonName: 'x', organization: 'y', country: 'RO', newKey: false }), /decrypt-only/);
    const audit = await port.generateCsr({ usage: 'audit', commonName: 'RO audit', organization: 'Politia Romana', country: 'RO', newKey: false });
    assert.match(audit.pem, /BEGIN CERTIFICATE REQUEST/);

    // A peer certificate made by openssl, as a partner State would send it.
    const peerKey = join(config.dataDir, 'de.key');
    const peerPem = join(config.dataDir, 'de.pem');
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', peerKey, '-out', peerPem, '-days', '400', '-subj', '/C=DE/O=BKA/CN=DE NCP signing']);
    const imported = await port.importPeerCertificate('DE', 'signing', readFileSync(peerPem, 'utf8'));
    assert.equal(imported.path, join(config.dataDir, 'certs', 'peers', 'de-signing.pem'));
    assert.equal(imported.certificate.state, 'DE');
    await assert.rejects(port.importPeerCertificate('DE', 'signing', 'not a certificate at all'), (e: Error & { code?: string }) => e.code === 'CERTIFICATE_INVALID');
    const withPeer = { ...config, peers: [{ code: 'DE' as const, channels: {}, certificates: { signing: imported.path }, crypto: { allowLegacy: false, keyTransport: 'rsa-pkcs1' as const, digest: 'sha256' as const } }] };
    const listed = await provisioningPort({ token, config: () => withPeer }).certificates();
    assert.ok(listed.some((c) => c.id === 'peer:DE:signing' && c.subject.includes('DE NCP signing')));

    await assert.rejects(port.importCertificate(readFileSync(peerPem, 'utf8')), (e: Error & { code?: string }) => e.code === 'CERTIFICATE_INVALID', 'a certificate for no key on the token');

    const pin = readFileSync('file' in config.token.pin ? config.token.pin.file : '', 'utf8').trim();
    const after = await port.setupToken(pin);
    assert.equal(after.loggedIn, true);
  } finally {
    await token.close();
  }
});

test('audit port on the real log: search, export to a drive folder, verification by the bundled verifier, tamper detected', async () => {
  const dir = tmp('pruem-wiring-audit-');
  const db = new Database(join(dir, 'gateway.sqlite'));
  const clock = new TestClock('2026-02-10T09:00:00.000Z');
  const log = new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' });
  const signer = softwareSigner(await makePki(dir));
  const officers = new OfficerRegistry(db, log, { clock: clock.now });
  const usb = join(dir, 'exports');
  (await import('node:fs')).mkdirSync(usb);
  // A link planted in the allowed folder must not lead out of it.
  (await import('node:fs')).symlinkSync(tmp('pruem-wiring-elsewhere-'), join(usb, 'escape'));
  try {
    const op = officersPort(officers, clock.now);
    await op.save({ id: 'officer-7', name: 'Ion Popescu', agency: 'IGPR', channels: ['dna'], authorisedUntil: null }, 'tech');
    log.append(outgoingSearch(clock, { referenceNumbers: ['REF-2026-1'] }));
    clock.advance(60_000);
    log.append(incomingResponse(clock, { result: 'hit', peerState: 'DE', channel: 'dna', searchingBody: { state: 'RO', agency: 'IGPR' }, fileManagingBody: { state: 'DE', agency: 'BKA' } }));
    clock.advance(60_000);
    log.append(incomingRequest(clock, { peerState: 'AT', channel: 'dna', fileManagingBody: { state: 'RO', agency: 'IGPR' }, searchingBody: { state: 'AT', agency: 'BK' } }));
    log.append(outgoingResponse(clock, { peerState: 'AT', channel: 'dna', result: 'no-hit', searchingBody: { state: 'AT', agency: 'BK' }, fileManagingBody: { state: 'RO', agency: 'IGPR' } }));
    const sink = adminAuditSink(log);
    sink({ at: clock.iso(), actor: 'tech', role: 'technician', action: 'config.relay.change', target: 'TESTA relay', outcome: 'success', detail: 'relay: null → x', remote: '127.0.0.1' });
    sink({ at: clock.iso(), actor: null, role: null, action: 'session.sign-in', target: 'unknown account', outcome: 'failure', remote: '127.0.0.1' });

    const port = auditPort({ log, signer: () => signer, officers, exportRoots: [usb], now: clock.now });
    const all = await port.search({ from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z', limit: 50, offset: 0 });
    assert.equal(all.total, 7, 'grant + 4 exchanges + 2 admin');
    const de = await port.search({ from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z', state: 'DE', limit: 50, offset: 0 });
    assert.deepEqual(de.entries.map((e) => e.kind), ['dna.response.received', 'dna.request.sent'], 'newest first');
    assert.equal(de.entries[1]?.officer, 'officer-7');
    const byRef = await port.search({ from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z', reference: 'REF-2026-1', limit: 50, offset: 0 });
    assert.equal(byRef.total, 1);
    const admin = all.entries.filter((e) => e.kind.startsWith('admin.'));
    assert.ok(admin.some((e) => e.kind === 'admin.config-change' && e.summary.includes('config.relay.change')));
    assert.ok(admin.some((e) => e.kind === 'admin.login-failed'));

    const progress: AuditExportProgress[] = [];
    for (const outside of [dir, join(usb, 'escape'), '/tmp']) {
      await assert.rejects(
        port.exportBundle({ target: { kind: 'directory', path: outside }, from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'auditor', () => undefined),
        (e: Error & { code?: string }) => e.code === 'EXPORT_ROOT_NOT_ALLOWED',
        outside,
      );
    }
    const result = await port.exportBundle({ target: { kind: 'directory', path: usb }, from: '2026-02-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'auditor', (p) => progress.push(p));
    assert.ok(result.path.startsWith(usb));
    assert.equal(result.verification?.ok, true, 'read back and verified by the one export path');
    assert.ok(progress.some((p) => p.phase === 'writing'));
    const verified = await port.verifyBundle(result.path);
    assert.equal(verified.ok, true, verified.problems.join('\n'));
    assert.ok(verified.entries >= 7);

    const entriesFile = readdirSync(result.path).find((f) => f.endsWith('.jsonl'));
    assert.ok(entriesFile, 'the bundle has a JSONL file');
    appendFileSync(join(result.path, entriesFile), '{"tampered":true}\n');
    const broken = await port.verifyBundle(result.path);
    assert.equal(broken.ok, false);
    assert.ok(broken.problems.length > 0);

    // The annual statistics come from the counters the pipeline keeps (they outlive the log's retention).
    const counters = new Statistics(db);
    counters.add({ year: 2026, state: 'DE', channel: 'dna', direction: 'out', requests: 1, hits: { 1: 1 } });
    counters.add({ year: 2026, state: 'DE', channel: 'dna', direction: 'out', requests: 1, hits: { 4: 2 } });
    counters.add({ year: 2026, state: 'AT', channel: 'dna', direction: 'in', requests: 1, noHits: 1 });
    const stats = await statisticsPort(counters).annual(2026);
    assert.deepEqual(stats.map((r) => [r.state, r.channel, r.direction, r.requests, r.hits, r.hitsByQuality[1], r.hitsByQuality[4], r.noHits]), [
      ['AT', 'dna', 'in', 1, 0, 0, 0, 1],
      ['DE', 'dna', 'out', 2, 3, 1, 2, 0],
    ]);

    const revoked = await op.revoke('officer-7', 'tech');
    assert.equal(revoked.active, false);
    const again = await op.save({ id: 'officer-7', name: 'Ion Popescu', agency: 'IGPR', channels: ['dna', 'fp'], authorisedUntil: null }, 'tech');
    assert.deepEqual([again.active, again.channels], [true, ['dna', 'fp']]);
    const changed = await op.save({ id: 'officer-7', name: 'Ion Popescu', agency: 'IGPR', channels: ['fp'], authorisedUntil: null }, 'tech');
    assert.deepEqual(changed.channels, ['fp'], 'a change is a revoke and a new grant');
  } finally {
    db.close();
  }
});

test("the console offers the removable drives the CLI offers (one lsblk reading), never a system disk", async () => {
  const lsblk = JSON.stringify({
    blockdevices: [
      { name: 'vda', path: '/dev/vda', rm: false, hotplug: false, tran: null, size: 1000, type: 'disk', mountpoint: '/', fstype: 'ext4', label: null },
      { name: 'sdb', path: '/dev/sdb', rm: true, hotplug: true, tran: 'usb', size: 8000, type: 'disk', mountpoint: null, fstype: null, label: null,
        children: [{ name: 'sdb1', path: '/dev/sdb1', rm: true, hotplug: true, tran: null, size: 7999, type: 'part', mountpoint: null, fstype: 'vfat', label: 'AUDIT' }] },
    ],
  });
  const db = new Database(':memory:');
  const port = auditPort({
    log: new AuditLog(db, { origin: 'RO/pruem-gateway' }), signer: () => { throw new Error('not used'); }, exportRoots: [],
    // lsblk's captured output stands in for the machine's drives.
    devices: { run: async () => ({ code: 0, stdout: Buffer.from(lsblk), stderr: '' }) },
  });
  assert.deepEqual(await port.usbDrives(), [{ id: 'dev:/dev/sdb1', label: 'AUDIT', mountPoint: null, sizeBytes: 7999, freeBytes: null }]);
  db.close();
});

test('the configuration file is rewritten atomically and privately, and asks for a restart', async () => {
  const dir = tmp('pruem-wiring-cfg-');
  const parsed = parseConfig({ memberState: 'RO' });
  assert.ok(parsed.ok);
  const path = join(dir, 'gateway.json');
  const port = configFilePort(parsed.config, path);
  const r = await port.apply({ ...parsed.config, relay: { host: 'relay.testa', port: 25, requireTls: false } });
  assert.deepEqual(r, { restartRequired: true });
  const written = JSON.parse(readFileSync(path, 'utf8')) as GatewayConfig;
  assert.equal(written.relay?.host, 'relay.testa');
  assert.equal(parseConfig(written).ok, true, 'the file the daemon will read validates');
  assert.equal((await import('node:fs')).statSync(path).mode & 0o777, 0o600);
  assert.equal(port.current().relay?.host, 'relay.testa');
});
