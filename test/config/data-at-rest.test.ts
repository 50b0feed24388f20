/**
 * Issue 12 item 6, data at rest: the SQLite files (gateway database with the queue and the audit
 * log, the national DNA database) and the data folder are the daemon's user's only; configuration
 * revisions keep no literal secret; a literal PIN is refused outside development; child processes
 * get only the environment they need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { ensurePrivateDir, writeFileAtomic } from '../../appliance/util/fs.js';
import { RevisionStore, withSecretsFrom } from '../../appliance/config/revisions.js';
import { parseConfig, type GatewayConfig } from '../../appliance/config/config.js';
import { childEnvironment, runOk } from '../../appliance/util/exec.js';

const mode = (path: string) => statSync(path).mode & 0o777;

function withDir(work: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pruem-rest-'));
    try {
      await work(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('the gateway database, its -wal and -shm, and a folder made for it are not readable by others', withDir((dir) => {
  const path = join(dir, 'data', 'gateway.sqlite');
  const db = openDatabase(path);
  db.exec('CREATE TABLE t (x TEXT)');
  db.prepare('INSERT INTO t VALUES (?)').run('raw mail');
  assert.equal(mode(join(dir, 'data')), 0o700);
  for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(mode(f), 0o600, f);
  db.close();

  // A file left 0644 by an earlier version is narrowed when it is opened.
  const old = join(dir, 'old.sqlite');
  writeFileSync(old, '');
  chmodSync(old, 0o644);
  openDatabase(old).close();
  assert.equal(mode(old), 0o600);
}));

test('the national DNA database is 0600 too', withDir((dir) => {
  const store = ProfileStore.open(join(dir, 'dna.sqlite'));
  store.close();
  assert.equal(mode(join(dir, 'dna.sqlite')), 0o600);
}));

test('the data folder is made private, and an existing one narrowed', withDir((dir) => {
  const data = join(dir, 'var');
  mkdirSync(data, { mode: 0o755 });
  chmodSync(data, 0o755);
  ensurePrivateDir(data);
  assert.equal(mode(data), 0o700);
  ensurePrivateDir(join(dir, 'new'));
  assert.equal(mode(join(dir, 'new')), 0o700);
}));

test('the atomic write leaves the asked-for mode and the whole content', withDir((dir) => {
  const file = join(dir, 'sub', 'config.json');
  writeFileAtomic(file, '{"a":1}\n', 0o600);
  writeFileAtomic(file, '{"a":2}\n', 0o600);
  assert.equal(readFileSync(file, 'utf8'), '{"a":2}\n');
  assert.equal(mode(file), 0o600);
}));

test('configuration revisions keep no literal secret, also those written before, and a restore takes them back from the running configuration', withDir((dir) => {
  const path = join(dir, 'gateway.sqlite');
  const db = openDatabase(path);
  // A revision as an earlier version wrote it, with the secret in clear.
  db.exec(`CREATE TABLE api_config_revisions (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, summary TEXT NOT NULL,
    revert_of INTEGER REFERENCES api_config_revisions(id), config TEXT NOT NULL)`);
  db.prepare('INSERT INTO api_config_revisions (at, actor, summary, config) VALUES (?, ?, ?, ?)').run(1, 'system', 'old', JSON.stringify({ pop3: { password: { value: 'old-pop3-secret' } } }));
  const parsed = parseConfig({ token: { pin: { value: 'dev-pin-739164' } }, pop3: { host: 'pop', user: 'ncp', password: { value: 'pop3-secret-pw' } } });
  assert.ok(parsed.ok);
  const config: GatewayConfig = parsed.config;
  const revisions = new RevisionStore(db);
  const saved = revisions.record(config, 'tech', 'relay');
  assert.equal(revisions.sync(config).id, saved.id, 'the running configuration is the same as the stored one');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes = readFileSync(path);
  for (const secret of ['dev-pin-739164', 'pop3-secret-pw', 'old-pop3-secret']) assert.equal(bytes.includes(Buffer.from(secret)), false, `${secret} is in the database file`);
  const stored = revisions.get(saved.id)!.config;
  const restored = parseConfig(withSecretsFrom(stored, config));
  assert.ok(restored.ok);
  assert.deepEqual(restored.config.pop3?.password, { value: 'pop3-secret-pw' });
  assert.deepEqual(restored.config.token.pin, { value: 'dev-pin-739164' });
  // Without the secret in the running configuration, the restore is refused rather than writing a placeholder.
  const without = parseConfig(withSecretsFrom(stored, { ...config, pop3: null }));
  assert.equal(without.ok, false);
  db.close();
}));

test('a literal PIN is refused outside development (a SoftHSM2 token)', () => {
  const card = parseConfig({ token: { module: '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', pin: { value: '123456' } } });
  assert.equal(card.ok, false);
  assert.match(card.ok ? '' : card.error.issues.join(), /literal PIN/);
  assert.ok(parseConfig({ token: { module: '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', pin: { file: '/etc/pruem/token.pin' } } }).ok);
  assert.ok(parseConfig({ token: { pin: { value: '123456' } } }).ok, 'SoftHSM2 development token');
});

test('child processes get only the environment they need, never a PIN variable', async () => {
  process.env.PRUEM_TOKEN_PIN = 'env-pin-482913';
  try {
    const out = (await runOk('env', [])).toString();
    assert.equal(out.includes('env-pin-482913'), false);
    assert.match(out, /^PATH=/m);
    assert.equal(childEnvironment().PRUEM_TOKEN_PIN, undefined);
    assert.equal(childEnvironment({ set: { X: '1' } }).X, '1');
  } finally {
    delete process.env.PRUEM_TOKEN_PIN;
  }
});
