import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts } from './harness.js';
import type { CertificateInfo, Officer } from '../../appliance/api/wire.js';

test('certificates come with days left and the 60/30/7-day level; a CSR request is validated and audited', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const list = (await tech.request('GET', '/api/certificates')).json<{ certificates: Array<CertificateInfo & { daysLeft: number; expiry: string }> }>();
    assert.deepEqual(list.certificates.map((c) => [c.daysLeft, c.expiry]), [[18, 'warning']], 'harness clock 2026-03-01, certificate until 2026-03-20');
    const bad = await tech.request('POST', '/api/certificates/csr', { usage: 'signing', commonName: '', organization: 'P', country: 'Romania', newKey: false });
    assert.equal(bad.status, 400);
    assert.equal(bad.json<{ error: { code: string; detail: { field: string } } }>().error.detail.field, 'commonName');
    const ok = await tech.request('POST', '/api/certificates/csr', { usage: 'audit', commonName: 'RO audit', organization: 'Politia Romana', country: 'RO', newKey: false });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(h.audited.some((e) => e.action === 'certificate.csr.generate' && e.target === 'audit key, CN=RO audit' && e.outcome === 'success'));
  } finally {
    h.close();
  }
});

test('importing a peer certificate points the peer directory at the file, as a revision', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const r = await tech.request('POST', '/api/certificates/peer', { state: 'DE', usage: 'encryption', pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    assert.equal(r.status, 201, r.text);
    assert.equal(h.config.peers.find((p) => p.code === 'DE')?.certificates.encryption, '/var/lib/pruem/certs/peers/de-encryption.pem');
    const again = await tech.request('POST', '/api/certificates/peer', { state: 'DE', usage: 'encryption', pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    assert.equal(again.json<{ revision: unknown }>().revision, null, 'same file: no new revision');
    const nl = await tech.request('POST', '/api/certificates/peer', { state: 'NL', usage: 'signing', pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    assert.equal(nl.status, 201);
    assert.ok(h.config.peers.some((p) => p.code === 'NL'), 'a new partner is added to the directory');
    assert.deepEqual(
      h.audited.filter((e) => e.action.startsWith('certificate.peer') || e.action === 'config.peer.certificate').map((e) => e.action),
      ['certificate.peer.import', 'config.peer.certificate', 'certificate.peer.import', 'certificate.peer.import', 'config.peer.certificate'],
    );
  } finally {
    h.close();
  }
});

test('officers: authorise, change, revoke; auditors read the list; every change names the officer', async () => {
  const h = createHarness();
  try {
    const { tech, auditor } = await withAccounts(h);
    const body = { name: 'Maria Ionescu', agency: 'IGPR', channels: ['dna'], authorisedUntil: '2027-01-01T00:00:00.000Z' };
    assert.equal((await tech.request('PUT', '/api/officers/RO-42', body)).status, 201);
    assert.equal((await tech.request('PUT', '/api/officers/RO-42', { ...body, channels: ['dna', 'fp'] })).status, 200);
    assert.equal((await tech.request('PUT', '/api/officers/bad id!', body)).status, 400);
    assert.equal((await tech.request('PUT', '/api/officers/RO-43', { ...body, channels: [] })).status, 400);
    assert.equal((await tech.request('POST', '/api/officers/RO-42/revoke')).status, 200);
    const list = (await auditor.request('GET', '/api/officers')).json<{ officers: Officer[] }>().officers;
    assert.deepEqual(list.map((o) => [o.id, o.active, o.channels]), [['RO-42', false, ['dna', 'fp']]]);
    assert.deepEqual(
      h.audited.filter((e) => e.action.startsWith('officer.')).map((e) => [e.action, e.target, e.actor]),
      [
        ['officer.authorise', 'officer RO-42', 'tech'],
        ['officer.update', 'officer RO-42', 'tech'],
        ['officer.revoke', 'officer RO-42', 'tech'],
      ],
    );
  } finally {
    h.close();
  }
});

test('annual statistics as JSON, as a CSV download with hits by quality, and as a printable page', async () => {
  const h = createHarness();
  try {
    const { auditor, operator } = await withAccounts(h);
    const json = (await auditor.request('GET', '/api/statistics/2025')).json<{ year: number; rows: unknown[] }>();
    assert.equal(json.rows.length, 2);
    const csv = await auditor.request('GET', '/api/statistics/2025.csv');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /pruem-statistics-2025\.csv/);
    assert.equal(
      csv.text,
      'year,state,channel,direction,requests,hits,hits_q1,hits_q2,hits_q3,hits_q4,no_hits,errors\r\n2025,DE,dna,out,25,2,1,0,0,1,3,0\r\n2025,AT,dna,in,4,1,1,0,0,0,3,1\r\n',
    );
    const page = await auditor.request('GET', '/api/statistics/2025.html');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /statistics 2025/);
    assert.match(page.text, /<td>DE<\/td><td>DNA<\/td><td>our searches in DE<\/td><td class="n">25<\/td><td class="n">2<\/td><td class="n">1<\/td>/);
    assert.match(page.text, /<td>Total<\/td><td><\/td><td><\/td><td class="n">29<\/td><td class="n">3<\/td>/);
    assert.doesNotMatch(page.text, /<script/);
    assert.ok(h.audited.some((e) => e.action === 'statistics.export' && e.detail === '2 rows as HTML'));
    assert.equal((await auditor.request('GET', '/api/statistics/1999')).status, 400);
    assert.equal((await operator.request('GET', '/api/statistics/2025.csv')).status, 403);
  } finally {
    h.close();
  }
});
