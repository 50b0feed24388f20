import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createApiServer, type ApiServer } from '../../appliance/api/server.js';
import { inject, type InjectResponse } from '../../appliance/api/inject.js';
import type { AdminAuditEvent, ApiDeps } from '../../appliance/api/deps.js';
import { parseConfig, type GatewayConfig } from '../../appliance/config/config.js';
import type { GatewayStatus } from '../../appliance/status/types.js';
import type { AuditEntry, CertificateInfo, Officer, SessionInfo, StatisticsRow, TestMessageTarget } from '../../appliance/api/wire.js';

/**
 * A real API server on a real SQLite file, driven by in-process injection. The gateway's other
 * parts are small recording stand-ins here: these tests are about the API's own rules (roles,
 * CSRF, lockout, idle timeout, first run); the real parts are wired in the e2e tests.
 */
export interface Harness {
  readonly server: ApiServer;
  readonly db: Database.Database;
  readonly audited: AdminAuditEvent[];
  readonly calls: string[];
  readonly setupCodes: string[];
  config: GatewayConfig;
  clock: { now: number };
  browser(): Browser;
  close(): void;
}

/** Cheap scrypt for tests that sign in many times; passwords.test.ts checks the real cost. */
export const TEST_SCRYPT = { ln: 10, r: 8, p: 1 } as const;

export function baseConfig(): GatewayConfig {
  const parsed = parseConfig({
    memberState: 'RO',
    peers: [
      { code: 'DE', channels: { dna: { enabled: true } } },
      { code: 'AT', channels: { dna: { enabled: true }, fp: { enabled: false } } },
    ],
  });
  if (!parsed.ok) throw parsed.error;
  return parsed.config;
}

function status(config: GatewayConfig, now: number): GatewayStatus {
  return {
    memberState: config.memberState,
    version: 'test',
    startedAt: new Date(now - 60_000).toISOString(),
    now: new Date(now).toISOString(),
    demo: false,
    services: [{ name: 'relay', state: 'up', detail: 'test relay', lastChecked: new Date(now).toISOString() }],
    peers: config.peers.map((p) => ({ state: p.code, channel: 'dna' as const, link: 'up' as const, lastSuccess: new Date(now).toISOString(), lastError: null })),
    queues: [{ channel: 'dna', direction: 'in', depth: 0, oldestAgeSeconds: null, nearestDeadline: null, atRisk: 0 }],
    throughput: { in: new Array<number>(60).fill(0), out: new Array<number>(60).fill(0) },
  };
}

export function createHarness(overrides: Partial<ApiDeps> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-api-'));
  const db = new Database(join(dir, 'gateway.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  const audited: AdminAuditEvent[] = [];
  const calls: string[] = [];
  const setupCodes: string[] = [];
  const clock = { now: Date.parse('2026-03-01T10:00:00Z') };
  const officers = new Map<string, Officer>();
  const cert: CertificateInfo = {
    id: 'own-signing',
    owner: 'own',
    state: 'RO',
    usage: 'signing',
    subject: 'CN=RO signing',
    issuer: 'CN=RO signing',
    serialNumber: '01',
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2026-03-20T00:00:00Z',
    fingerprintSha256: 'AA',
    keyOnToken: true,
    development: true,
  };
  const entries: AuditEntry[] = [
    { seq: 1, at: '2026-02-01T10:00:00Z', kind: 'dna.request.sent', channel: 'dna', state: 'DE', direction: 'out', officer: 'RO-123', reference: 'REF-1', outcome: 'hit', summary: 'Art. 3 search' },
  ];
  const h: Harness = {
    server: undefined as unknown as ApiServer,
    db,
    audited,
    calls,
    setupCodes,
    config: baseConfig(),
    clock,
    browser: () => new Browser(h.server),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deps: ApiDeps = {
    db,
    version: 'test',
    status: () => status(h.config, clock.now),
    config: {
      current: () => h.config,
      apply: async (next) => {
        calls.push('config.apply');
        h.config = next;
      },
    },
    provisioning: {
      tokenState: async () => ({ present: true, initialized: true, loggedIn: true, pinLocked: false, label: 'pruem', manufacturer: 'SoftHSM', model: 'SoftHSM v2', serial: '1', detail: 'ok' }),
      certificates: async () => [cert],
      generateCsr: async (r) => {
        calls.push(`csr:${r.usage}`);
        return { usage: r.usage, subject: `CN=${r.commonName}`, pem: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n', keyLabel: `${r.usage}-key` };
      },
      importCertificate: async () => {
        calls.push('import');
        return cert;
      },
      importPeerCertificate: async (state, usage) => {
        calls.push(`peer-import:${state}:${usage}`);
        return { certificate: { ...cert, owner: 'peer', state, usage }, path: `/var/lib/pruem/certs/peers/${state.toLowerCase()}-${usage}.pem`, warnings: [] };
      },
      setupToken: async (pin) => {
        calls.push(`token:${pin.length}`);
        if (pin === '0000') throw Object.assign(new Error('CKR_PIN_INCORRECT'), { code: 'TOKEN_PIN_INVALID' });
        return { present: true, initialized: true, loggedIn: true, pinLocked: false, label: 'pruem', manufacturer: null, model: null, serial: null, detail: 'ok' };
      },
    },
    audit: {
      search: async (q) => {
        calls.push(`audit.search:${q.state ?? '*'}`);
        return { entries: entries.filter((e) => !q.state || e.state === q.state), total: entries.length };
      },
      usbDrives: async () => [{ id: 'usb-1', label: 'AUDIT', mountPoint: join(dir, 'usb'), sizeBytes: 1_000_000, freeBytes: 900_000 }],
      exportBundle: async (r, _actor, onProgress) => {
        onProgress({ phase: 'writing', done: 1, total: 1 });
        calls.push(`export:${r.target.kind}`);
        return { path: join(dir, 'export'), entries: 1, files: ['log.jsonl'] };
      },
      verifyBundle: async () => ({ ok: true, entries: 1, problems: [], detail: 'chain and signature verified' }),
    },
    officers: {
      list: async () => [...officers.values()],
      save: async (o) => {
        const saved: Officer = { ...o, active: true, authorisedFrom: new Date(clock.now).toISOString() };
        officers.set(o.id, saved);
        return saved;
      },
      revoke: async (id) => {
        const o = officers.get(id);
        if (!o) throw new Error('no such officer');
        const revoked = { ...o, active: false };
        officers.set(id, revoked);
        return revoked;
      },
    },
    statistics: {
      annual: async (year): Promise<StatisticsRow[]> => [
        { state: 'DE', channel: 'dna', direction: 'out', requests: year - 2000, hits: 2, hitsByQuality: { 1: 1, 2: 0, 3: 0, 4: 1 }, noHits: 3, errors: 0 },
        { state: 'AT', channel: 'dna', direction: 'in', requests: 4, hits: 1, hitsByQuality: { 1: 1, 2: 0, 3: 0, 4: 0 }, noHits: 3, errors: 1 },
      ],
    },
    auditAdmin: (e) => {
      audited.push(e);
    },
    sendTestMessage: async (t: TestMessageTarget) => {
      calls.push(`test-message:${t.kind}`);
      return { ok: true, detail: '250 accepted', elapsedMs: 3, messageId: '<x@test>' };
    },
    system: {
      restartService: async () => {
        calls.push('restart');
      },
      reboot: async () => {
        calls.push('reboot');
      },
    },
    health: {
      sample: async () => ({
        sampledAt: new Date(clock.now).toISOString(),
        cpu: { loadPercent: 12, cores: 2, model: 'test' },
        memory: { totalBytes: 1000, availableBytes: 100 },
        disks: [{ mount: '/', device: '/dev/vda', sizeBytes: 100, usedBytes: 50 }],
        temperatures: { mainC: null, maxC: null, coresC: [] },
        interfaces: [{ name: 'eth0', operstate: 'up', internal: false, ip4: '192.0.2.2', mac: null, speedMbps: null }],
        problems: ['temperature: no sensor reported a value'],
      }),
    },
    diagnostics: {
      sections: async () => ({ 'daemon-log': 'started pin=1234 officer=RO-77 mail to jane.doe@police.example and ncp@dna.pruem.de.eu-admin.net' }),
    },
    onSetupCode: (code) => setupCodes.push(code),
    security: { scrypt: TEST_SCRYPT },
    clock: () => clock.now,
    consoleDir: join(dir, 'console'),
    ...overrides,
  };
  (h as { server: ApiServer }).server = createApiServer(deps);
  return h;
}

/** A browser: keeps cookies, sends the CSRF token it was given. */
export class Browser {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(private readonly server: ApiServer) {}

  async request(method: string, url: string, body?: object, headers: Record<string, string> = {}): Promise<InjectResponse> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await inject(this.server.handler, {
      method,
      url,
      headers: { ...(cookie ? { cookie } : {}), ...(this.csrf && method !== 'GET' ? { 'x-csrf-token': this.csrf } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    for (const [name, { value }] of Object.entries(res.cookies)) {
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    return res;
  }

  async session(): Promise<SessionInfo> {
    const info = (await this.request('GET', '/api/session')).json<SessionInfo>();
    this.csrf = info.csrfToken;
    return info;
  }

  async signIn(username: string, password: string): Promise<InjectResponse> {
    await this.session();
    const res = await this.request('POST', '/api/session', { username, password });
    if (res.status === 200) this.csrf = res.json<SessionInfo>().csrfToken;
    return res;
  }
}

export const PASSWORDS = { technician: 'alpine-meadow-42', operator: 'oper-passphrase-1', auditor: 'audit-passphrase-1' } as const;

/** Runs the wizard's account step and creates one account per role. */
export async function withAccounts(h: Harness): Promise<{ tech: Browser; operator: Browser; auditor: Browser }> {
  const tech = h.browser();
  await tech.session();
  const code = h.setupCodes.at(-1) ?? '';
  let r = await tech.request('POST', '/api/setup/unlock', { code });
  if (r.status !== 200) throw new Error(`unlock: ${r.text}`);
  r = await tech.request('PUT', '/api/setup/member-state', { memberState: 'RO' });
  if (r.status !== 200) throw new Error(`member-state: ${r.text}`);
  r = await tech.request('POST', '/api/setup/account', { username: 'tech', displayName: 'Technician', password: PASSWORDS.technician });
  if (r.status !== 201) throw new Error(`account: ${r.text}`);
  tech.csrf = r.json<{ csrfToken: string }>().csrfToken;
  for (const role of ['operator', 'auditor'] as const) {
    const c = await tech.request('POST', '/api/accounts', { username: role, displayName: role, role, password: PASSWORDS[role] });
    if (c.status !== 201) throw new Error(`create ${role}: ${c.text}`);
  }
  const operator = h.browser();
  const auditor = h.browser();
  if ((await operator.signIn('operator', PASSWORDS.operator)).status !== 200) throw new Error('operator sign-in');
  if ((await auditor.signIn('auditor', PASSWORDS.auditor)).status !== 200) throw new Error('auditor sign-in');
  return { tech, operator, auditor };
}
