/**
 * The appliance's own HTTPS certificate, without binding any socket: it names the addresses the
 * listeners are configured on, a new address gets a new certificate, an unchanged configuration keeps
 * the one it has, and `openssl x509` reads what we wrote.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, resolvePaths, type GatewayConfig } from '../../appliance/config/config.js';
import { loadListenerTls, listenerTlsMode } from '../../provisioning/listener-tls.js';
import { runOk } from '../../appliance/util/exec.js';

const dir = mkdtempSync(join(tmpdir(), 'pruem-mgmt-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(listen: Record<string, unknown>, vehicle?: Record<string, unknown>): GatewayConfig {
  const parsed = parseConfig({ memberState: 'AT', dataDir: 'var', listen, ...(vehicle ? { vehicle } : {}) });
  assert.ok(parsed.ok);
  return resolvePaths(parsed.config, dir);
}

const names = async (certPath: string) => (await runOk('openssl', ['x509', '-in', certPath, '-noout', '-ext', 'subjectAltName'])).toString();

test('HTTPS by default on a non-loopback address, plain HTTP on loopback', () => {
  assert.equal(listenerTlsMode({ host: '127.0.0.1', port: 8080 }), 'off');
  assert.equal(listenerTlsMode({ host: 'localhost', port: 8080 }), 'off');
  assert.equal(listenerTlsMode({ host: '10.20.30.40', port: 8080 }), 'self-signed');
  assert.equal(listenerTlsMode({ host: '0.0.0.0', port: 8080 }), 'self-signed');
  assert.equal(listenerTlsMode({ host: '10.20.30.40', port: 8080, tls: 'off' }), 'off');
});

test("the self-signed certificate names both listeners' addresses and is made again when one changes", async () => {
  const first = await loadListenerTls(config({ api: { host: '10.20.30.40' }, officers: { host: 'ncp.police.example' } }));
  assert.ok(first.ok && first.tls);
  const san = await names(first.tls.certificatePath);
  assert.match(san, /IP Address:10\.20\.30\.40/);
  assert.match(san, /DNS:ncp\.police\.example/);
  assert.match(san, /IP Address:127\.0\.0\.1/);

  const again = await loadListenerTls(config({ api: { host: '10.20.30.40' }, officers: { host: 'ncp.police.example' } }));
  assert.ok(again.ok && again.tls);
  assert.equal(again.tls.fingerprint, first.tls.fingerprint, 'same addresses: the same certificate');

  const moved = await loadListenerTls(config({ api: { host: '10.20.30.41' }, officers: { host: 'ncp.police.example' } }));
  assert.ok(moved.ok && moved.tls);
  assert.notEqual(moved.tls.fingerprint, first.tls.fingerprint, 'a new address: a new certificate');
  assert.match(await names(moved.tls.certificatePath), /IP Address:10\.20\.30\.41/);
});

test("the vehicle service's listener (TESTA side) is named in the self-signed certificate it is served with", async () => {
  const cfg = config({ api: { host: '127.0.0.1' } }, { listen: { host: '10.44.0.9', port: 8443 } });
  const listen = cfg.vehicle.listen;
  assert.ok(listen);
  const tls = await loadListenerTls(cfg, new Date(), { ...listen, tls: listen.tls ?? 'self-signed' });
  assert.ok(tls.ok && tls.tls);
  assert.match(await names(tls.tls.certificatePath), /IP Address:10\.44\.0\.9/, 'partners connect to this address');
});

test('a configured certificate file that is not there is an error naming it, not a crash', async () => {
  const r = await loadListenerTls(config({ api: { host: '10.20.30.40', tls: { certificate: 'missing.pem', key: 'missing.key' } } }));
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error, /missing/);
});
