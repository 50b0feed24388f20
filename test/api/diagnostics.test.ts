import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHarness, withAccounts } from './harness.js';
import { buildDiagnosticsBundle } from '../../appliance/api/diagnostics/bundle.js';
import { redactText } from '../../appliance/api/redact.js';

/** Unpacks with the system's tar: an independent reader of our archive format. */
function untar(bundle: Buffer): { dir: string; files: Map<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-diag-'));
  writeFileSync(join(dir, 'b.tar.gz'), bundle);
  execFileSync('tar', ['-xzf', 'b.tar.gz'], { cwd: dir });
  const files = new Map<string, string>();
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else files.set(`${prefix}${e.name}`, readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(join(dir, 'pruem-diagnostics'), '');
  return { dir, files };
}

test('the support bundle opens with tar and carries no secret or personal data', async () => {
  const h = createHarness();
  h.config = { ...h.config, token: { ...h.config.token, pin: { value: '739164' } }, pop3: { host: 'pop', port: 110, user: 'ncp', password: { value: 'pop3-secret-pw' }, tls: false, intervalSeconds: 30 } };
  const { tech } = await withAccounts(h);
  const res = await tech.request('GET', '/api/system/diagnostics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-disposition']), /attachment; filename="pruem-diagnostics-.*\.tar\.gz"/);
  const { dir, files } = untar(res.body);
  try {
    for (const f of ['README.txt', 'system.json', 'status.json', 'health.json', 'config.json', 'config-revisions.json', 'token.json', 'certificates.json', 'accounts.json', 'extra/daemon-log.txt', 'errors.txt']) {
      assert.ok(files.has(f), `${f} in bundle`);
    }
    const all = [...files.values()].join('\n');
    for (const secret of ['739164', 'pop3-secret-pw', 'RO-77', 'jane.doe', 'pin=1234', tech.cookies.get('pruem_session') ?? 'x', tech.csrf]) {
      assert.ok(!all.includes(secret), `${secret} leaked`);
    }
    assert.ok(!/"tech"/.test(files.get('config-revisions.json') ?? ''), 'account names are pseudonymised');
    assert.match(files.get('extra/daemon-log.txt') ?? '', /ncp@dna\.pruem\.de\.eu-admin\.net/, 'functional NCP mailboxes stay');
    assert.deepEqual(JSON.parse(files.get('accounts.json') ?? '{}').byRole, { technician: 1, operator: 1, auditor: 1 });
    assert.ok(h.audited.some((e) => e.action === 'diagnostics.download' && e.outcome === 'success'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    h.close();
  }
});

test('the bundle never fails: broken and hanging parts become lines in errors.txt', async () => {
  const bundle = await buildDiagnosticsBundle(
    [
      { file: 'ok.json', collect: () => ({ fine: true }) },
      { file: 'throws.json', collect: () => { throw new Error('token absent pin=4321'); } },
      { file: 'rejects.json', collect: () => Promise.reject(new Error('db locked')) },
      { file: 'hangs.json', collect: () => new Promise(() => undefined) },
      { file: 'cyclic.json', collect: () => { const o: Record<string, unknown> = {}; o['self'] = o; return o; } },
    ],
    { version: 'test', now: new Date('2026-03-01T00:00:00Z') },
  );
  const { dir, files } = untar(bundle);
  try {
    assert.ok(files.has('ok.json'));
    const errors = files.get('errors.txt') ?? '';
    assert.match(errors, /throws\.json: token absent pin=\[redacted\]/);
    assert.match(errors, /rejects\.json: db locked/);
    assert.match(errors, /hangs\.json: timed out/);
    assert.match(errors, /cyclic\.json: cannot serialise/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('text redaction rules', () => {
  assert.equal(redactText('login pin=1234 ok'), 'login pin=[redacted] ok');
  assert.equal(redactText('{"password": "abc def", "officerId":"RO-1", "state":"DE"}'), '{"password": "[redacted]", "officerId":"[redacted]", "state":"DE"}');
  assert.equal(redactText('pkcs11:token=pruem;pin-value=9999'), 'pkcs11:token=pruem;pin-value=[redacted]');
  assert.equal(redactText('officer=RO-123 reference=DNA/2026/1'), 'officer=[redacted] reference=[redacted]');
  assert.equal(redactText('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----'), '[redacted private key]');
  assert.equal(redactText('to ion.popescu@politiaromana.ro via ncp@fp.pruem.ro.eu-admin.net'), 'to [redacted e-mail] via ncp@fp.pruem.ro.eu-admin.net');
});
