import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * Opens the gateway's SQLite file. WAL + synchronous=FULL: a message acknowledged to SMTP
 * must survive a power cut, so every commit is flushed; WAL keeps readers (status API)
 * from blocking the writer.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Deleted rows (answered requests' data, expired audit months) must not linger in free pages:
  // SQLite zeroes them with this on, and it has to be on before the first delete.
  db.pragma('secure_delete = ON');
  return db;
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The statement for `sql`, compiled once per database and kept: the queue and the pipeline run the
 * same few statements for every message, and compiling one costs about as much as running it.
 * Not for `.iterate()`: a cached statement that is still being iterated cannot run again.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}
