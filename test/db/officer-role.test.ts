/** Schema step 8 (issue 11): the officer role. The accounts table is rebuilt; accounts and sessions survive it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrateSchema, schemaVersion, SCHEMA_VERSION } from '../../appliance/db/schema.js';

test('a version-7 file: accounts and sessions kept, the officer role admitted, deleting an account still ends its sessions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schema-officer-'));
  try {
    const path = join(dir, 'gw.sqlite');
    const old = new Database(path);
    old.pragma('foreign_keys = ON');
    // The two tables exactly as step 1 made them, at version 7 (the steps before are not what this test is about).
    old.exec(`
      CREATE TABLE accounts_users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('technician', 'operator', 'auditor')), password_hash TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ro')), disabled INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until INTEGER, created_at INTEGER NOT NULL, last_login_at INTEGER);
      CREATE TABLE accounts_sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES accounts_users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL, created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, remote TEXT);
      CREATE INDEX accounts_sessions_user ON accounts_sessions(user_id);
      INSERT INTO accounts_users (id, username, display_name, role, password_hash, language, created_at) VALUES (1, 'tech', 'Tech', 'technician', 'h1', 'ro', 1), (2, 'op', 'Op', 'operator', 'h2', 'en', 2);
      INSERT INTO accounts_sessions VALUES ('t1', 1, 'c1', 1, 1, NULL), ('t2', 2, 'c2', 2, 2, '127.0.0.1');
      PRAGMA user_version = 7;
    `);
    assert.throws(() => old.prepare("INSERT INTO accounts_users (username, display_name, role, password_hash, created_at) VALUES ('x', 'X', 'officer', 'h', 3)").run(), /CHECK/);
    migrateSchema(old);
    assert.equal(schemaVersion(old), SCHEMA_VERSION);
    assert.deepEqual(old.prepare('SELECT id, username, role, language FROM accounts_users ORDER BY id').all(), [
      { id: 1, username: 'tech', role: 'technician', language: 'ro' },
      { id: 2, username: 'op', role: 'operator', language: 'en' },
    ]);
    assert.equal((old.prepare('SELECT count(*) AS n FROM accounts_sessions').get() as { n: number }).n, 2, 'sessions kept');
    old.prepare("INSERT INTO accounts_users (username, display_name, role, password_hash, created_at) VALUES ('RO-OFFICER-1', 'Officer', 'officer', 'h', 3)").run();
    assert.throws(() => old.prepare("INSERT INTO accounts_users (username, display_name, role, password_hash, created_at) VALUES ('y', 'Y', 'janitor', 'h', 3)").run(), /CHECK/);
    const refs = old.prepare("SELECT \"table\" FROM pragma_foreign_key_list('accounts_sessions')").all() as Array<{ table: string }>;
    assert.deepEqual(refs.map((r) => r.table), ['accounts_users']);
    assert.equal((old.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE '%_v7' OR name LIKE '%_v8'").get() as { n: number }).n, 0, 'no leftovers');
    old.prepare('DELETE FROM accounts_users WHERE id = 2').run();
    assert.deepEqual(old.prepare('SELECT token_hash FROM accounts_sessions').all(), [{ token_hash: 't1' }], 'the cascade still works');
    assert.deepEqual(old.pragma('foreign_key_check'), []);
    old.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
