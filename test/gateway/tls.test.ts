/**
 * The management interface over HTTPS: the self-signed certificate made on first start (checked by
 * `openssl s_client` and `openssl x509` as independent tools), Secure cookies, no plain HTTP on the
 * TLS port, the same certificate after a restart, the agency's own certificate, a key that does not
 * belong to it refused, and `pruem status` pinning the configured certificate. (The last test also checks
 * the service board's entry for an empty national DNA database.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../appliance/config/config.js';
import { startGateway } from '../../appliance/main.js';
import { OfficersClients, LEGACY_CLIENT_NAME } from '../../appliance/dna-exchange/officers-clients.js';
import { fetchStatus, statusTarget } from '../../appliance/cli/status.js';
import { provisioningPort } from '../../appliance/api/wiring/provisioning.js';
import { run, runOk } from '../../appliance/util/exec.js';
import { freePort } from '../support/ports.js';
import { captureLog } from '../support/log-capture.js';

const dir = mkdtempSync(join(tmpdir(), 'pruem-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const capture = () => captureLog();

async function configWith(name: string, api: Record<string, unknown>, officers: Record<string, unknown> | null = null) {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      memberState: 'RO',
      dataDir: join(dir, name),
      token: { label: `pruem-tls-${name}-${process.pid}` },
      listen: { api: { host: '127.0.0.1', port: await freePort(), ...api }, smtp: null, officers: officers && { host: '127.0.0.1', port: await freePort(), ...officers } },
    }),
  );
  return loadConfig(path);
}

function get(url: string, opts: { ca?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { agent: false, headers: opts.headers ?? {}, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const opensslFingerprint = async (certPath: string) =>
  (await runOk('openssl', ['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'])).toString().trim().replace(/^sha256 Fingerprint=/i, '');

test('self-signed: made on first start, verified by openssl, Secure cookies, HTTPS only, kept across a restart', async () => {
  const config = await configWith('self', { tls: 'self-signed' });
  const log = capture();
  let gateway = await startGateway(config, { log: log.logger });
  const certPath = join(config.dataDir, 'tls', 'management-cert.pem');
  const cert = readFileSync(certPath);
  try {
    assert.equal(gateway.apiUrl, `https://127.0.0.1:${config.listen.api.port}`);
    assert.equal(statSync(join(config.dataDir, 'tls', 'management-key.pem')).mode & 0o777, 0o600, 'the key is readable by the daemon only');
    const started = log.lines().find((l) => typeof l.certificateSha256 === 'string');
    assert.equal(started?.certificateSha256, await opensslFingerprint(certPath), 'the fingerprint logged for the technician is the certificate served');

    const sclient = await run('openssl', ['s_client', '-connect', `127.0.0.1:${config.listen.api.port}`, '-CAfile', certPath, '-verify_return_error', '-verify_ip', '127.0.0.1', '-brief'], { input: '' });
    assert.equal(sclient.code, 0, sclient.stderr);
    assert.match(sclient.stderr + sclient.stdout, /Verification: OK/);

    const session = await get(`${gateway.apiUrl}/api/session`, { ca: cert });
    assert.equal(session.status, 200);
    const cookies = ([] as string[]).concat(session.headers['set-cookie'] ?? []);
    assert.ok(cookies.length > 0 && cookies.every((c) => /;\s*secure/i.test(c)), `every cookie Secure: ${cookies.join(' | ')}`);

    await assert.rejects(get(`http://127.0.0.1:${config.listen.api.port}/api/health`), 'plain HTTP is not answered on the TLS port');

    // The certificates page lists it (usage "management") with its fingerprint, so its expiry is watched.
    const listed = (await provisioningPort({ token: gateway.token, config: () => config }).certificates()).find((c) => c.id === 'own:management-tls');
    assert.equal(listed?.usage, 'management');
    assert.equal(listed?.fingerprintSha256.replace(/:/g, '').toLowerCase(), String(started?.certificateSha256).replace(/:/g, '').toLowerCase());

    const status = await fetchStatus(statusTarget(config));
    assert.ok(status.ok && status.status === 200, status.ok ? '' : status.error);
    const wrongPin = await fetchStatus({ ...statusTarget(config), pinSha256: 'AB:CD' });
    assert.ok(!wrongPin.ok && /shows certificate/.test(wrongPin.error));
  } finally {
    await gateway.stop();
  }
  gateway = await startGateway(config, { log: pino({ level: 'silent' }) });
  try {
    assert.deepEqual(readFileSync(certPath), cert, 'a restart keeps the certificate (and its fingerprint)');
    assert.equal((await get(`${gateway.apiUrl}/api/health`, { ca: cert })).status, 200);
  } finally {
    await gateway.stop();
  }
});

test("the agency's own certificate is used as configured; a key that is not its own is refused at start", async () => {
  const [key, crt, other] = [join(dir, 'own.key'), join(dir, 'own.pem'), join(dir, 'other.key')];
  await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '30', '-subj', '/CN=gateway.ro.example', '-addext', 'subjectAltName=IP:127.0.0.1']);
  await runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);

  const config = await configWith('own', { tls: { certificate: crt, key } });
  const gateway = await startGateway(config, { log: pino({ level: 'silent' }) });
  try {
    assert.equal((await get(`${gateway.apiUrl}/api/health`, { ca: readFileSync(crt) })).status, 200);
  } finally {
    await gateway.stop();
  }

  const mismatched = await configWith('mismatch', { tls: { certificate: crt, key: other } });
  await assert.rejects(startGateway(mismatched, { log: pino({ level: 'silent' }) }), /is not the key of/);
});

test("the officers' API over HTTPS with the appliance's certificate, which names its address", async () => {
  const config = await configWith('officers', { tls: 'self-signed' }, { tls: 'self-signed' });
  // The single shared key of earlier versions, left in the data folder: taken over as a named client at start.
  (await import('node:fs')).mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(join(config.dataDir, 'officers-api.key'), `${'L'.repeat(43)}\n`, { mode: 0o600 });
  const { logger, lines } = capture();
  const gateway = await startGateway(config, { log: logger });
  try {
    assert.equal((await import('node:fs')).existsSync(join(config.dataDir, 'officers-api.key')), false, 'the clear key file is gone');
    assert.ok(new OfficersClients(gateway.db, gateway.audit).list().some((c) => c.name === LEGACY_CLIENT_NAME));
    assert.equal(statSync(config.dataDir).mode & 0o777, 0o700, 'the data folder is private');
    assert.equal(statSync(join(config.dataDir, 'gateway.sqlite')).mode & 0o777, 0o600);
    const cert = readFileSync(join(config.dataDir, 'tls', 'management-cert.pem'));
    const made = new OfficersClients(gateway.db, gateway.audit).add('tls-test', 'test');
    assert.ok(made.ok);
    const key = made.value.credential;
    const url = `https://127.0.0.1:${gateway.officersPort}/api/statistics/2026`;
    assert.equal((await get(url, { ca: cert, headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal((await get(url, { ca: cert })).status, 401, 'still needs a client credential');
    assert.equal((await get(url, { ca: cert, headers: { authorization: `Bearer ${'L'.repeat(43)}` } })).status, 200, 'the old shared key still works until revoked');
    // The officers' API logs through the daemon's logger (issue 12 item 3).
    const refused = lines().find((l) => l['event'] === 'officers.auth.refused');
    assert.equal(refused?.['level'], 40, JSON.stringify(lines().slice(-5)));
    await assert.rejects(get(`http://127.0.0.1:${gateway.officersPort}/api/statistics/2026`), 'no plain HTTP');
  } finally {
    await gateway.stop();
  }
});

test('unset: plain HTTP on a loopback address; an empty national DNA database shows amber', async () => {
  const config = await configWith('plain', {});
  const gateway = await startGateway(config, { log: pino({ level: 'silent' }) });
  try {
    assert.equal(gateway.apiUrl, `http://127.0.0.1:${config.listen.api.port}`);
    assert.equal((await get(`${gateway.apiUrl}/api/health`)).status, 200);
    await gateway.dna.index.ready();
    const index = (await gateway.status()).services.find((s) => s.name === 'dna-index');
    assert.equal(index?.state, 'degraded');
    assert.match(index?.detail ?? '', /empty/);
  } finally {
    await gateway.stop();
  }
});
