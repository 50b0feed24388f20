/**
 * Issue 12 item 5 (officers are who the record says) and item 8 (one error envelope): the officers'
 * API on a real SQLite file, the real Art. 30 log, officer registry, search store and pipeline
 * (queue, transactions); only the S/MIME sealer is a stand-in, one that refuses one State the way a
 * missing or expired peer certificate does.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { AuditLog } from '../../appliance/audit/log.js';
import type { AuditEvent } from '../../appliance/audit/events.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ExchangePipeline, type ExchangeAudit, type MessageSealer } from '../../appliance/exchange/pipeline.js';
import { DnaSearches } from '../../appliance/dna-exchange/searches.js';
import { ProfileNotes } from '../../appliance/dna-exchange/notes.js';
import { Statistics } from '../../appliance/exchange/statistics.js';
import { submitDnaSearch } from '../../appliance/dna-exchange/submit.js';
import { createOfficersApi, listen } from '../../appliance/dna-exchange/officers-api.js';
import { OfficersClients, LEGACY_CLIENT_NAME } from '../../appliance/dna-exchange/officers-clients.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';

let dir: string;
let db: Db;
let audit: AuditLog;
let officers: OfficerRegistry;
let searches: DnaSearches;
let clients: OfficersClients;
let server: { port: number; close(): Promise<void> };
let logged: Array<{ event: string; fields: Record<string, unknown> }>;
let refuse: MemberStateCode | null;
/** The answers this test reads: an error envelope or a search view. */
type Json = { error: { code: string; message: string; issues?: string[] }; id: string; requests: Array<{ state: string }> };

/** What main.ts's exchange-audit adapter does, reduced to the fields this test looks at. */
const exchangeAudit: ExchangeAudit = {
  exchange(record, ctx) {
    const event = {
      kind: 'exchange', channel: ctx.channel, messageType: record.messageType, automated: true,
      dataSupplied: { categories: [...record.data.categories], recordIds: [...record.data.recordIds], count: record.data.count, sha256: '0'.repeat(64), byteLength: ctx.payload.length },
      occurredAt: ctx.occurredAt.toISOString(), searchingBody: { ...record.searchingBody }, fileManagingBody: { ...record.fileManagingBody },
      peerState: ctx.peer, messageId: ctx.messageId, referenceNumbers: [...record.referenceNumbers], result: record.result,
      direction: 'sent', role: 'request', ...record.search,
    } as AuditEvent;
    audit.append(event);
  },
  rejected() {},
};

const sealer: MessageSealer = {
  async seal(m) {
    if (m.peer === refuse) throw new Error(`no encryption certificate for ${m.peer}`);
    return { raw: Buffer.concat([Buffer.from(`Message-ID: <${m.messageId}>\r\n\r\n`), m.reply.payload]), mailFrom: 'ncp@dna.pruem.ro.eu-admin.net', rcptTo: `ncp@dna.pruem.${m.peer.toLowerCase()}.eu-admin.net` };
  },
};

function entries(): AuditEvent[] {
  return (db.prepare('SELECT leaf FROM audit_entries ORDER BY idx').all() as Array<{ leaf: string }>).map((r) => (JSON.parse(r.leaf) as { event: AuditEvent }).event);
}

function call(method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const req = request(
      { host: '127.0.0.1', port: server.port, method, path, headers: { ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}), ...(data ? { 'content-type': 'application/json' } : {}), ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') as Json }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const search = (over: Record<string, unknown> = {}) => ({
  officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'burglary case 123/2026', targets: ['DE', 'AT'],
  profiles: [{ id: 'RO-S-1', type: 'S', loci: DEMO_PROFILE }], ...over,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-officers-api-'));
  db = openDatabase(join(dir, 'gateway.sqlite'));
  audit = new AuditLog(db, { origin: 'RO/pruem-gateway' });
  officers = new OfficerRegistry(db, audit);
  audit.useSearchGuard(officers.searchGuard());
  for (const id of ['RO-OFFICER-1', 'RO-PROSECUTOR-7']) assert.ok(officers.grant({ officerId: id, name: id, channels: ['dna'], grantedBy: 'admin' }).ok);
  searches = new DnaSearches(db);
  clients = new OfficersClients(db, audit);
  refuse = null;
  logged = [];
  const pipeline = new ExchangePipeline({
    db, queue: new MessageQueue(db), links: new LinkTracker(db), sealer, sender: null, handlers: [], audit: exchangeAudit, ourState: 'RO',
    opener: { open: async () => ({ ok: false, error: { code: 'X', message: 'x' } }) }, messageIdDomain: (c) => `${c}.pruem.ro.eu-admin.net`,
  });
  const peer = { channels: { dna: { enabled: true } }, encryption: {} };
  const app = createOfficersApi({
    clients, audit, officers, searches, notes: new ProfileNotes(db), statistics: new Statistics(db),
    log: (event, fields) => logged.push({ event, fields }),
    submit: (body) =>
      submitDnaSearch({
        pipeline, searches, officers, ourState: 'RO', agency: 'RO-IGPR', generator: 'test', maxProfilesPerMessage: 500,
        directory: { list: () => [{ code: 'DE' }, { code: 'AT' }], get: (code) => (code === 'DE' || code === 'AT' ? peer : undefined) },
      }, body),
  });
  server = await listen(app, '127.0.0.1', 0);
});

afterEach(async () => {
  await server.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('each client has its own named credential, stored only as a digest, listed and revocable on its own', async () => {
  const a = clients.add('afis-workstations', 'admin');
  const b = clients.add('case-system', 'admin');
  assert.ok(a.ok && b.ok);
  assert.notEqual(a.value.credential, b.value.credential);
  assert.equal(clients.add('case-system', 'admin').ok, false, 'names are unique');
  assert.equal(clients.add('Bad Name!', 'admin').ok, false);
  assert.deepEqual(clients.list().map((c) => c.name), ['afis-workstations', 'case-system']);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const file = readFileSync(join(dir, 'gateway.sqlite'));
  assert.equal(file.includes(Buffer.from(a.value.credential)), false, 'the credential is not in the database');
  assert.equal(file.includes(Buffer.from(a.value.credential.split('.')[2]!)), false);

  assert.equal((await call('GET', '/api/statistics/2026', { key: a.value.credential })).status, 200);
  assert.equal((await call('GET', '/api/statistics/2026', { key: b.value.credential })).status, 200);
  assert.ok(clients.revoke('case-system', 'admin').ok);
  const refused = await call('GET', '/api/statistics/2026', { key: b.value.credential });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.code, 'CLIENT_CREDENTIAL_REQUIRED');
  assert.equal((await call('GET', '/api/statistics/2026', { key: a.value.credential })).status, 200, 'the other client keeps working');
  assert.equal(clients.revoke('case-system', 'admin').ok, false);
  const changes = entries().filter((e) => e.kind === 'admin' && e.action === 'client-credential-change');
  assert.equal(changes.length, 3, 'two additions and a revocation recorded');
  assert.ok(clients.list().find((c) => c.name === 'afis-workstations')?.lastUsedAt);
});

test('the single shared key file of earlier versions becomes a named client, and the file is deleted', async () => {
  const legacy = 'x'.repeat(43);
  writeFileSync(join(dir, 'officers-api.key'), `${legacy}\n`, { mode: 0o600 });
  const client = clients.migrateLegacyKeyFile(join(dir, 'officers-api.key'));
  assert.equal(client?.name, LEGACY_CLIENT_NAME);
  assert.equal(existsSync(join(dir, 'officers-api.key')), false);
  assert.equal((await call('GET', '/api/statistics/2026', { key: legacy })).status, 200);
  assert.ok(clients.revoke(LEGACY_CLIENT_NAME, 'admin').ok);
  assert.equal((await call('GET', '/api/statistics/2026', { key: legacy })).status, 401);
});

test('the ordering officer is checked against the authorised list too', async () => {
  const { value } = clients.add('case-system', 'admin') as { ok: true; value: { credential: string } };
  const r = await call('POST', '/api/dna/searches', { key: value.credential, body: search({ orderingOfficerId: 'RO-NOBODY' }) });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'OFFICER_NOT_AUTHORISED');
  assert.match(r.body.error.message, /RO-NOBODY/);
  assert.equal(db.prepare('SELECT COUNT(*) AS n FROM queue_outbox').get() ? (db.prepare('SELECT COUNT(*) AS n FROM queue_outbox').get() as { n: number }).n : 0, 0);
});

test('a search to several States is written whole or not at all', async () => {
  const { value } = clients.add('case-system', 'admin') as { ok: true; value: { credential: string } };
  const before = entries().length;
  refuse = 'AT';
  const failed = await call('POST', '/api/dna/searches', { key: value.credential, body: search() });
  assert.equal(failed.status, 500);
  assert.deepEqual(failed.body, { error: { code: 'INTERNAL', message: 'Internal error.' } });
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM dna_searches').get() as { n: number }).n, 0, 'no search');
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM dna_search_requests').get() as { n: number }).n, 0);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM queue_outbox').get() as { n: number }).n, 0, 'nothing queued for DE either');
  assert.equal(entries().length, before, 'nothing recorded as sent');
  assert.ok(logged.some((l) => l.event === 'api.internal' && /no encryption certificate for AT/.test(String(l.fields.reason))), "the officers' API logs its 500s");

  refuse = null;
  const ok = await call('POST', '/api/dna/searches', { key: value.credential, body: search() });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM queue_outbox').get() as { n: number }).n, 2);
  assert.deepEqual(ok.body.requests.map((r) => r.state).sort(), ['AT', 'DE']);
});

test('reading a search or the notes is recorded in the Art. 30 log before the answer is given', async () => {
  const { value } = clients.add('case-system', 'admin') as { ok: true; value: { credential: string } };
  const created = await call('POST', '/api/dna/searches', { key: value.credential, body: search() });
  assert.equal(created.status, 201);
  const read = await call('GET', `/api/dna/searches/${created.body.id}`, { key: value.credential, headers: { 'x-officer-id': 'RO-OFFICER-1' } });
  assert.equal(read.status, 200);
  await call('GET', '/api/dna/notes', { key: value.credential });
  // An officer the client names must be on the list; nothing is shown or recorded otherwise.
  const stranger = await call('GET', `/api/dna/searches/${created.body.id}`, { key: value.credential, headers: { 'x-officer-id': 'RO-NOBODY' } });
  assert.equal(stranger.status, 403);
  assert.equal(stranger.body.error.code, 'OFFICER_NOT_AUTHORISED');
  const reads = entries().filter((e) => e.kind === 'admin' && e.action === 'result-read');
  assert.equal(reads.length, 2);
  const [first, second] = reads as Array<Extract<AuditEvent, { kind: 'admin' }>>;
  assert.equal(first!.actor, 'RO-OFFICER-1');
  assert.equal(first!.details?.['searchId'], created.body.id);
  assert.equal(first!.details?.['client'], 'case-system');
  assert.equal(second!.actor, 'client:case-system');
});

test("the officers' API answers in the console API's error envelope", async () => {
  const { value } = clients.add('case-system', 'admin') as { ok: true; value: { credential: string } };
  const none = await call('GET', '/api/dna/searches/nope');
  assert.deepEqual(Object.keys(none.body), ['error']);
  assert.equal(none.body.error.code, 'CLIENT_CREDENTIAL_REQUIRED');
  const missing = await call('GET', '/api/dna/searches/nope', { key: value.credential });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'NOT_FOUND');
  const invalid = await call('POST', '/api/dna/searches', { key: value.credential, body: { officerId: 'RO-OFFICER-1' } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.error.code, 'VALIDATION_FAILED');
  assert.ok((invalid.body.error.issues ?? []).length > 0);
  const route = await call('GET', '/api/nothing-here', { key: value.credential });
  assert.equal(route.status, 404);
  assert.equal(route.body.error.code, 'NOT_FOUND');
  const year = await call('GET', '/api/statistics/12', { key: value.credential });
  assert.equal(year.body.error.code, 'VALIDATION_FAILED');
});
