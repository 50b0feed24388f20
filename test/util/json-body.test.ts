/**
 * The bounded JSON body reader both HTTP APIs use, over a real HTTP server on loopback, and the
 * officers' API answering its refusals with their codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readJsonBody, type JsonBody } from '../../appliance/util/json-body.js';
import { createOfficersApi, listen } from '../../appliance/dna-exchange/officers-api.js';
import type { DnaSearches } from '../../appliance/dna-exchange/searches.js';
import type { ProfileNotes } from '../../appliance/dna-exchange/notes.js';
import type { Statistics } from '../../appliance/exchange/statistics.js';

function post(port: number, path: string, body: Buffer | string, headers: IncomingHttpHeaders = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function withReader(limitBytes: number, requireJsonType: boolean, fn: (send: (body: Buffer | string, headers?: IncomingHttpHeaders) => Promise<JsonBody>) => Promise<void>) {
  let last: JsonBody | null = null;
  const server = createServer(async (req, res) => {
    last = await readJsonBody(req, { limitBytes, requireJsonType });
    res.end('done');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    await fn(async (body, headers = {}) => {
      await post(port, '/', body, headers);
      assert.ok(last);
      return last;
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

test('reads JSON within the limit, an empty body as {}, and refuses the rest with its code', async () => {
  await withReader(1024, true, async (send) => {
    assert.deepEqual(await send('{"a":[1,2]}', JSON_TYPE), { ok: true, value: { a: [1, 2] } });
    assert.deepEqual(await send('', JSON_TYPE), { ok: true, value: {} });
    assert.deepEqual(await send('{"a":', JSON_TYPE), { ok: false, code: 'BAD_JSON', limitBytes: 1024 });
    assert.deepEqual(await send('{"a":1}', { 'content-type': 'text/plain' }), { ok: false, code: 'UNSUPPORTED_MEDIA_TYPE', limitBytes: 1024 });
    // Declared too large: refused before reading.
    assert.equal(((await send('x'.repeat(2000), JSON_TYPE)) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
    // Not declared (chunked): refused while reading, once past the limit.
    assert.equal(((await send(Buffer.from(`"${'x'.repeat(2000)}"`), { ...JSON_TYPE, 'transfer-encoding': 'chunked' })) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await send(`"${'y'.repeat(1000)}"`, { ...JSON_TYPE, 'transfer-encoding': 'chunked' }), { ok: true, value: 'y'.repeat(1000) });
  });
  await withReader(1024, false, async (send) => {
    assert.deepEqual(await send('{"a":1}', { 'content-type': 'text/plain' }), { ok: true, value: { a: 1 } });
  });
});

test("the officers' API answers a body that is not JSON 400 BAD_JSON and never calls submit", async () => {
  let submitted = 0;
  const key = 'k'.repeat(43);
  const app = createOfficersApi({
    clients: { authenticate: (c) => (c === key ? { id: '1', name: 'test', createdAt: '', createdBy: 'test', revokedAt: null, revokedBy: null, lastUsedAt: null } : null) },
    audit: { append: () => undefined },
    searches: {} as DnaSearches,
    notes: {} as ProfileNotes,
    statistics: {} as Statistics,
    submit: async () => {
      submitted++;
      return { ok: false, error: { code: 'VALIDATION_FAILED', message: 'x' } };
    },
  });
  const server = await listen(app, '127.0.0.1', 0);
  try {
    const auth = { authorization: `Bearer ${'k'.repeat(43)}` };
    const bad = await post(server.port, '/api/dna/searches', '{"profile":', auth);
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.text) as { error: { code: string } }).error.code, 'BAD_JSON');
    const big = await post(server.port, '/api/dna/searches', 'x', { ...auth, 'content-length': String(64 * 1024 * 1024) });
    assert.equal(big.status, 413);
    assert.equal((JSON.parse(big.text) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(submitted, 0);
    const unauthorised = await post(server.port, '/api/dna/searches', '{}');
    assert.equal(unauthorised.status, 401);
    const good = await post(server.port, '/api/dna/searches', '{}', auth);
    assert.equal(good.status, 400);
    assert.equal(submitted, 1, 'a well-formed body reaches submit');
  } finally {
    await server.close();
  }
});
