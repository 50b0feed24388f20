import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, resolvePaths } from '../../appliance/config/config.js';

test('an empty configuration gets defaults that run on a laptop', () => {
  const r = parseConfig({});
  assert.ok(r.ok);
  assert.equal(r.config.memberState, 'RO');
  assert.deepEqual(r.config.listen.api, { host: '127.0.0.1', port: 8080 });
  assert.equal(r.config.relay, null, 'no TESTA link: the demo network');
  assert.match(r.config.token.module, /softhsm2/);
});

test('Greece is EL and the United Kingdom UK; GR and GB are refused', () => {
  assert.ok(parseConfig({ memberState: 'EL' }).ok);
  assert.ok(parseConfig({ memberState: 'UK' }).ok);
  for (const code of ['GR', 'GB']) {
    const r = parseConfig({ memberState: code });
    assert.ok(!r.ok);
    assert.match(r.error.issues.join('\n'), /^memberState:/m);
  }
});

test('a peer listed twice, or our own State as a peer, is refused', () => {
  const twice = parseConfig({ peers: [{ code: 'DE' }, { code: 'DE' }] });
  assert.ok(!twice.ok);
  assert.match(twice.error.issues.join(), /DE is listed twice/);
  const self = parseConfig({ memberState: 'AT', peers: [{ code: 'AT' }] });
  assert.ok(!self.ok);
  assert.match(self.error.issues.join(), /our own Member State/);
});

test('relative paths resolve against the file; the PIN file against the data folder', () => {
  const r = parseConfig({ dataDir: 'data', peers: [{ code: 'DE', certificates: { signing: 'peers/de.pem' } }] });
  assert.ok(r.ok);
  const c = resolvePaths(r.config, '/etc/pruem');
  assert.equal(c.dataDir, '/etc/pruem/data');
  assert.deepEqual(c.token.pin, { file: '/etc/pruem/data/token.pin' });
  assert.equal(c.peers[0]?.certificates.signing, '/etc/pruem/peers/de.pem');
});
