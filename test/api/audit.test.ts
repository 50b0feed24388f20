import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHarness, withAccounts } from './harness.js';
import type { AuditExportJob, AuditSearchResult } from '../../appliance/api/wire.js';

const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string } }>().error.code;

test('an auditor searches the log by period and State', async () => {
  const h = createHarness();
  try {
    const { auditor } = await withAccounts(h);
    const res = await auditor.request('GET', '/api/audit/entries?from=2026-01-01&to=2026-03-01&state=DE&channel=dna&officer=&limit=20');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json<AuditSearchResult>().entries.length, 1);
    assert.equal(code(await auditor.request('GET', '/api/audit/entries?from=2026-03-01&to=2026-01-01')), 'PERIOD_INVALID');
    assert.equal(code(await auditor.request('GET', '/api/audit/entries?from=2026-01-01&to=2026-03-01&state=GR')), 'VALIDATION_FAILED', 'Greece is EL');
    assert.equal(code(await auditor.request('GET', '/api/audit/entries?from=2026-01-01&to=2026-03-01&limit=100000')), 'VALIDATION_FAILED');
  } finally {
    h.close();
  }
});

test('an export runs in the background, is verified, and both start and end are audited', async () => {
  const h = createHarness();
  try {
    const { auditor } = await withAccounts(h);
    assert.equal(code(await auditor.request('POST', '/api/audit/exports', { target: { kind: 'usb', driveId: 'usb-9' }, from: '2026-01-01', to: '2026-03-01' })), 'EXPORT_TARGET_INVALID');
    assert.equal(code(await auditor.request('POST', '/api/audit/exports', { target: { kind: 'directory', path: 'relative/dir' }, from: '2026-01-01', to: '2026-03-01' })), 'EXPORT_TARGET_INVALID');
    assert.equal(code(await auditor.request('POST', '/api/audit/exports', { target: { kind: 'directory', path: '/media/../etc' }, from: '2026-01-01', to: '2026-03-01' })), 'EXPORT_TARGET_INVALID');
    // Only below the configured roots (issue 12 item 7): not any mounted file system.
    h.config = { ...h.config, audit: { exportRoots: [tmpdir()] } };
    assert.equal(code(await auditor.request('POST', '/api/audit/exports', { target: { kind: 'directory', path: '/etc' }, from: '2026-01-01', to: '2026-03-01' })), 'EXPORT_ROOT_NOT_ALLOWED');
    const started = await auditor.request('POST', '/api/audit/exports', { target: { kind: 'usb', driveId: 'usb-1' }, from: '2026-01-01', to: '2026-03-01', state: 'DE' });
    assert.equal(started.status, 202, started.text);
    const id = started.json<{ export: AuditExportJob }>().export.id;
    let job: AuditExportJob | undefined;
    for (let i = 0; i < 1000; i++) {
      job = (await auditor.request('GET', `/api/audit/exports/${id}`)).json<{ export: AuditExportJob }>().export;
      if (job.finishedAt) break;
      await sleep(10);
    }
    assert.equal(job?.progress.phase, 'done');
    assert.equal(job?.verification?.ok, true);
    const end = h.audited.find((e) => e.action === 'audit.export');
    assert.equal(end?.outcome, 'success');
    assert.equal(end?.actor, 'auditor');
    assert.match(end?.target ?? '', /^USB drive usb-1, 2026-01-01 to 2026-03-01, State DE$/);
    assert.ok(h.audited.some((e) => e.action === 'audit.export.start'));
  } finally {
    h.close();
  }
});

test('a failed verification is reported as such, not as success', async () => {
  const bad = createHarness({
    audit: {
      search: async () => ({ entries: [], total: 0 }),
      usbDrives: async () => [],
      exportBundle: async () => ({ path: '/tmp/x', entries: 3, files: [] }),
      verifyBundle: async () => ({ ok: false, entries: 3, problems: ['entry 2: hash chain broken'], detail: 'failed' }),
    },
  });
  try {
    const { auditor: a } = await withAccounts(bad);
    bad.config = { ...bad.config, audit: { exportRoots: [tmpdir()] } };
    const started = await a.request('POST', '/api/audit/exports', { target: { kind: 'directory', path: join(tmpdir(), 'pruem-export') }, from: '2026-01-01', to: '2026-03-01' });
    const id = started.json<{ export: AuditExportJob }>().export.id;
    let job: AuditExportJob | undefined;
    for (let i = 0; i < 1000 && !job?.finishedAt; i++) {
      await sleep(10);
      job = (await a.request('GET', `/api/audit/exports/${id}`)).json<{ export: AuditExportJob }>().export;
    }
    assert.equal(job?.progress.phase, 'failed');
    assert.deepEqual(job?.verification?.problems, ['entry 2: hash chain broken']);
    const end = bad.audited.find((e) => e.action === 'audit.export');
    assert.equal(end?.outcome, 'failure');
    assert.match(end?.detail ?? '', /hash chain broken/);
  } finally {
    bad.close();
  }
});
