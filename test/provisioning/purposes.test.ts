import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../appliance/config/config.js';
import { runOk } from '../../appliance/util/exec.js';
import { enabledPurposes } from '../../provisioning/purposes.js';
import { loadListenerTls } from '../../provisioning/listener-tls.js';
import { makeBox, makeCa, issueAll, initialFlags, pruem, type Box, type TestCa } from './support.js';

/** The vehicle channel and a console on the LAN add their keys: the vehicle XML key on the token, the TLS keys as files. */
let root: string;
let ca: TestCa;
let box: Box;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-purposes-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'AT', {
    listen: { api: { host: '10.0.0.5', port: 8443 }, smtp: null, officers: null },
    peers: [{ code: 'DE', channels: { vrd: { enabled: true } } }],
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('every purpose the configuration enables gets its key, a CSR with its usages and names, and its certificate', async () => {
  assert.deepEqual(enabledPurposes(loadConfig(box.configPath)).map((p) => `${p.label}:${p.store}`), ['ncp-sign:token', 'ncp-decrypt:token', 'audit:token', 'vrd-tls:file', 'vrd-sign:token', 'console-tls:file']);
  const r = await pruem(['provision', ...initialFlags(box)]);
  assert.equal(r.code, 0, r.out);
  const csr = (label: string) => runOk('openssl', ['req', '-in', join(box.dataDir, 'provisioning', 'csr', `${label}.csr`), '-noout', '-verify', '-text']).then((b) => b.toString());
  assert.match(await csr('vrd-tls'), /TLS Web Server Authentication, TLS Web Client Authentication[\s\S]*DNS:vrd\.gateway\.at\.pruem\.local/);
  assert.match(await csr('console-tls'), /TLS Web Server Authentication[\s\S]*IP Address:10\.0\.0\.5/);
  assert.match(await csr('vrd-sign'), /Digital Signature, Non Repudiation/);
  assert.equal(statSync(join(box.dataDir, 'tls', 'console-tls-key.pem')).mode & 0o777, 0o600);

  const issued = await issueAll(ca, box, join(root, 'issued'));
  assert.equal(issued.length, 6);
  const imp = await pruem(['provision', '--config', box.configPath, '--ca', ca.cert, ...issued.flatMap((f) => ['--certificate', f])]);
  assert.equal(imp.code, 0, imp.out);
  assert.match(imp.out, /state: ready/);
  // The console now serves the agency's certificate from the national CA.
  const config = loadConfig(box.configPath);
  assert.deepEqual(config.listen.api.tls, { certificate: join(box.dataDir, 'certs', 'console-tls.pem'), key: join(box.dataDir, 'tls', 'console-tls-key.pem') });
  const tls = await loadListenerTls(config);
  assert.ok(tls.ok && tls.tls?.source === 'configured', JSON.stringify(tls));
});
