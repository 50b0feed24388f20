/**
 * The technicians' serial console as a text menu: one session per open line, fed one input line at a
 * time (port.ts does the byte handling: echo, backspace, CR/LF). Sign-in uses the console's accounts
 * (lockout included) and admits technicians only; an idle session is signed out.
 */
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GatewayConfig } from '../config/config.js';
import { parseConfig } from '../config/config.js';
import type { GatewayStatus } from '../status/types.js';
import type { TokenStatus } from '../token/token.js';
import type { AccountService } from '../accounts/service.js';
import type { Account } from '../accounts/store.js';
import type { ProvisionInput, ProvisionResult, PeerCandidate } from '../../provisioning/production.js';

/** What the console may do to the machine; injected so tests never restart or reboot anything. */
export interface SystemActions {
  restartService(): Promise<void>;
  reboot(): Promise<void>;
  /** Applies the management network now (the image's root helper); the reason when it could not. Absent: saved only. */
  applyNetwork?(settings: { interface: string; address: string; gateway: string | null; dns: readonly string[] }): Promise<string | null>;
}

export interface SerialDeps {
  readonly accounts: AccountService;
  status(): GatewayStatus;
  token(): TokenStatus;
  /** The console's one-time set-up code while no account exists (null otherwise). */
  setupCode(): string | null;
  readonly config: { current(): GatewayConfig; apply(next: GatewayConfig): Promise<unknown> };
  /** The production provisioning, run by the daemon with its token and audit log; `actor` signs the audit entries. */
  provision(input: ProvisionInput, actor: string, out: (line: string) => void): Promise<ProvisionResult>;
  readonly system: SystemActions;
  /** Sign-ins, sign-outs and changes, for the audit log. */
  audit(e: { action: 'login' | 'login-failed' | 'logout' | 'config-change' | 'token-operation'; actor: string; target: string; outcome: 'success' | 'failure'; detail?: string }): void;
  readonly idleMs: number;
  readonly version: string;
  now?(): number;
}

type Mode =
  | { kind: 'login' }
  | { kind: 'password'; username: string }
  | { kind: 'menu' }
  | { kind: 'ask'; prompt: string; secret: boolean; resolve: (line: string) => void };

export class SerialSession {
  private mode: Mode = { kind: 'login' };
  private user: Account | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly deps: SerialDeps,
    private readonly write: (text: string) => void,
  ) {}

  /** Whether the next input is a secret (port.ts then echoes nothing). */
  get secretInput(): boolean {
    return this.mode.kind === 'password' || (this.mode.kind === 'ask' && this.mode.secret);
  }

  start(): void {
    this.banner();
    this.prompt();
  }

  close(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
  }

  /** One line typed (without its line end). Lines are handled in order, one at a time. */
  input(line: string): Promise<void> {
    this.busy = this.busy.then(() => this.handle(line)).catch((e: Error) => this.out(`error: ${e.message}`));
    return this.busy;
  }

  private out(text: string): void {
    if (!this.closed) this.write(`${text.replace(/\n/g, '\r\n')}\r\n`);
  }

  private banner(): void {
    const s = this.deps.status();
    this.out('');
    this.out(`Prüm gateway ${s.memberState} — serial console (pruem ${this.deps.version})`);
    const code = this.deps.setupCode();
    if (s.provisioning && !s.provisioning.ready) this.out(`NOT PROVISIONED: ${s.provisioning.missing.length} item(s) missing (sign in, then 3 Provisioning)`);
    if (code) this.out(`Console set-up code (first-run wizard): ${code}`);
  }

  private prompt(): void {
    if (this.closed) return;
    switch (this.mode.kind) {
      case 'login':
        this.write('login: ');
        break;
      case 'password':
        this.write('password: ');
        break;
      case 'menu':
        this.write('choice> ');
        break;
      case 'ask':
        this.write(this.mode.prompt);
        break;
    }
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.user) return;
    this.idleTimer = setTimeout(() => {
      if (!this.user) return;
      this.deps.audit({ action: 'logout', actor: this.user.username, target: 'serial console', outcome: 'success', detail: 'idle' });
      this.user = null;
      if (this.mode.kind === 'ask') this.mode.resolve('');
      this.mode = { kind: 'login' };
      this.out('');
      this.out('Signed out after inactivity.');
      this.banner();
      this.prompt();
    }, this.deps.idleMs);
    this.idleTimer.unref();
  }

  /** Asks a question inside a menu action; resolves with the answer line. */
  private ask(prompt: string, secret = false): Promise<string> {
    return new Promise((resolve) => {
      this.mode = { kind: 'ask', prompt, secret, resolve };
      this.prompt();
      this.settled();
    });
  }

  /** The running menu action asked its next question or finished: the next typed line may be handled. */
  private settle: (() => void) | null = null;
  private settled(): void {
    const s = this.settle;
    this.settle = null;
    s?.();
  }
  private untilSettled(): Promise<void> {
    return new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  private async handle(raw: string): Promise<void> {
    const line = raw.trim();
    this.touch();
    const mode = this.mode;
    if (mode.kind === 'ask') {
      this.mode = { kind: 'menu' };
      const next = this.untilSettled();
      mode.resolve(line);
      await next;
      return;
    }
    if (mode.kind === 'login') {
      if (!line) {
        // Enter on a fresh line shows who this is and the set-up code again.
        this.banner();
        this.prompt();
        return;
      }
      this.mode = { kind: 'password', username: line };
      this.prompt();
      return;
    }
    if (mode.kind === 'password') {
      await this.signIn(mode.username, raw);
      this.prompt();
      return;
    }
    // A menu choice runs beside input(): it may ask() further questions; the next line waits for that.
    const next = this.untilSettled();
    void this.choose(line)
      .then(
        () => {
          if (this.user && this.mode.kind === 'menu') {
            this.menu();
            this.prompt();
          }
        },
        (e: Error) => {
          this.out(`error: ${e.message}`);
          this.mode = { kind: 'menu' };
          this.menu();
          this.prompt();
        },
      )
      .finally(() => this.settled());
    await next;
  }

  private async signIn(username: string, password: string): Promise<void> {
    const now = this.deps.now?.() ?? Date.now();
    const r = await this.deps.accounts.authenticate(username, password, now);
    if (!r.ok) {
      this.deps.audit({ action: 'login-failed', actor: username.slice(0, 64), target: 'serial console', outcome: 'failure', detail: r.problem });
      this.out(r.problem === 'ACCOUNT_LOCKED' ? `Account locked until ${new Date(r.lockedUntil ?? now).toISOString()}.` : 'Sign-in refused.');
      this.mode = { kind: 'login' };
      return;
    }
    if (r.value.role !== 'technician') {
      this.deps.audit({ action: 'login-failed', actor: r.value.username, target: 'serial console', outcome: 'failure', detail: `role ${r.value.role}` });
      this.out('The serial console is for technicians only.');
      this.mode = { kind: 'login' };
      return;
    }
    this.user = r.value;
    this.deps.audit({ action: 'login', actor: r.value.username, target: 'serial console', outcome: 'success' });
    this.touch();
    this.out(`Signed in as ${r.value.username}.`);
    this.mode = { kind: 'menu' };
    this.menu();
  }

  private menu(): void {
    this.out('');
    this.out(' 1 Status   2 Network settings   3 Provisioning   4 Token');
    this.out(' 5 Restart the service   6 Reboot   0 Sign out');
  }

  private async choose(choice: string): Promise<void> {
    const user = this.user;
    if (!user) return;
    switch (choice) {
      case '1':
        this.statusScreen();
        return;
      case '2':
        await this.network(user);
        return;
      case '3':
        await this.provisioning(user);
        return;
      case '4':
        this.tokenScreen();
        return;
      case '5': {
        const a = await this.ask('Restart the gateway service? type "yes": ');
        if (a !== 'yes') return this.out('Not restarted.');
        this.deps.audit({ action: 'config-change', actor: user.username, target: 'service restart', outcome: 'success', detail: 'serial console' });
        this.out('Restarting the service…');
        await this.deps.system.restartService();
        return;
      }
      case '6': {
        const a = await this.ask('Reboot the appliance? type "reboot": ');
        if (a !== 'reboot') return this.out('Not rebooted.');
        this.deps.audit({ action: 'config-change', actor: user.username, target: 'appliance reboot', outcome: 'success', detail: 'serial console' });
        this.out('Rebooting…');
        await this.deps.system.reboot();
        return;
      }
      case '0':
        this.deps.audit({ action: 'logout', actor: user.username, target: 'serial console', outcome: 'success' });
        this.user = null;
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.mode = { kind: 'login' };
        this.out('Signed out.');
        this.banner();
        this.prompt();
        return;
      case '':
        return;
      default:
        this.out(`No such choice "${choice.slice(0, 10)}".`);
    }
  }

  private statusScreen(): void {
    const s = this.deps.status();
    const token = this.deps.token();
    this.out(`== Status ${s.memberState} at ${s.now} ==`);
    const p = s.provisioning;
    this.out(`Provisioning: ${p ? (p.ready ? `ready (${p.mode})` : 'NOT READY') : 'unknown'}`);
    for (const m of p?.missing ?? []) this.out(`  missing: ${m}`);
    this.out(`Token: ${token.state} — ${token.detail}`);
    this.out('Links:');
    if (!s.peers.length) this.out('  (no peers)');
    for (const l of s.peers) this.out(`  ${l.state} ${l.channel}: ${l.link}${l.lastError ? ` (${l.lastError.reason.slice(0, 60)})` : ''}`);
    this.out('Queues:');
    for (const q of s.queues) this.out(`  ${q.channel} ${q.direction}: ${q.depth}${q.atRisk ? `, ${q.atRisk} at risk` : ''}`);
    this.out('Services:');
    for (const sv of s.services) this.out(`  ${sv.name}: ${sv.state} — ${sv.detail.slice(0, 100)}`);
    this.out('Certificates:');
    if (!p?.expiring.length) this.out('  none expiring within 30 days');
    for (const e of p?.expiring ?? []) this.out(`  ! ${e}`);
    this.out(`Disk: ${disk(this.deps.config.current().dataDir)}`);
  }

  private tokenScreen(): void {
    const t = this.deps.token();
    this.out(`== Token "${t.label}" ==`);
    this.out(`State: ${t.state}`);
    this.out(`Detail: ${t.detail}`);
    this.out(`Module: ${t.module}`);
    if (t.manufacturer) this.out(`Device: ${t.manufacturer} ${t.model ?? ''}, serial ${t.serialNumber ?? '?'}`);
  }

  private async network(user: Account): Promise<void> {
    const config = this.deps.config.current();
    const n = config.network;
    this.out(`== Network (management interface) ==`);
    this.out(n ? `Interface ${n.interface}, address ${n.address}, gateway ${n.gateway ?? '-'}, DNS ${n.dns.join(', ') || '-'}` : 'Not set (the image default applies).');
    const iface = await this.ask(`Interface [${n?.interface ?? 'eth0'}] (empty: keep, "-": cancel): `);
    if (iface === '-') return;
    const address = await this.ask(`Address with prefix [${n?.address ?? ''}]: `);
    const gateway = await this.ask(`Gateway [${n?.gateway ?? ''}]: `);
    const dns = await this.ask(`DNS servers, comma-separated [${n?.dns.join(',') ?? ''}]: `);
    const next = {
      interface: iface || n?.interface || 'eth0',
      address: address || n?.address || '',
      gateway: (gateway || n?.gateway) ?? null,
      dns: dns ? dns.split(',').map((d) => d.trim()).filter(Boolean) : (n?.dns ?? []),
    };
    const parsed = parseConfig({ ...config, network: next });
    if (!parsed.ok) {
      this.deps.audit({ action: 'config-change', actor: user.username, target: 'network settings', outcome: 'failure', detail: parsed.error.issues.join('; ') });
      this.out(`Not saved: ${parsed.error.issues.filter((i) => i.startsWith('network')).join('; ') || parsed.error.message}`);
      return;
    }
    await this.deps.config.apply({ ...config, network: parsed.config.network });
    this.deps.audit({ action: 'config-change', actor: user.username, target: 'network settings', outcome: 'success', detail: `${next.interface} ${next.address} via ${next.gateway ?? '-'}` });
    if (!this.deps.system.applyNetwork || !parsed.config.network) {
      this.out(`Saved: ${next.interface} ${next.address} via ${next.gateway ?? '-'} (applied by the system network service)`);
      return;
    }
    const problem = await this.deps.system.applyNetwork(parsed.config.network);
    this.out(problem ? `Saved, but not applied: ${problem}` : `Saved and applied: ${next.interface} ${next.address} via ${next.gateway ?? '-'}`);
  }

  private async provisioning(user: Account): Promise<void> {
    const p = this.deps.status().provisioning;
    this.out('== Provisioning ==');
    this.out(p ? (p.ready ? 'Ready.' : 'Missing:') : '');
    for (const m of p?.missing ?? []) this.out(`  - ${m}`);
    this.out(' 1 Generate keys and certificate requests   2 Import the national CA chain');
    this.out(' 3 Import our certificates   4 Import peer certificates   5 Summary');
    this.out(' 6 Initialise the token / give its PIN   0 Back');
    const c = await this.ask('provisioning> ');
    const out = (line: string) => this.out(line);
    let input: ProvisionInput | null = null;
    if (c === '1') input = { keys: true };
    else if (c === '6') {
      const config = this.deps.config.current();
      const userPin = await this.ask('User PIN: ', true);
      const soPin = await this.ask('SO PIN (only to initialise a new or reset token; empty: skip): ', true);
      const current = config.token.pin;
      const where = await this.ask(`The daemon reads the PIN from ("file PATH" or "env NAME") [${'env' in current ? `env ${current.env}` : `file ${'file' in current ? current.file : `${config.dataDir}/token.pin`}`}]: `);
      const [kind, value] = (where || ('env' in current ? `env ${current.env}` : `file ${'file' in current ? current.file : `${config.dataDir}/token.pin`}`)).split(/\s+/, 2);
      if (!value || (kind !== 'file' && kind !== 'env')) return this.out('Not done: say "file PATH" or "env NAME".');
      input = { token: { userPin, ...(soPin ? { soPin } : {}), pinSource: kind === 'env' ? { env: value } : { file: value } } };
    }
    else if (c === '2') input = { caFiles: [await this.ask('CA chain file (on the appliance, e.g. /media/usb/ca.pem): ')] };
    else if (c === '3') input = { certificateFiles: (await this.ask('Certificate file(s), space-separated: ')).split(/\s+/).filter(Boolean) };
    else if (c === '4') {
      input = {
        peerFiles: (await this.ask('Peer bundle file(s), space-separated: ')).split(/\s+/).filter(Boolean),
        confirmPeer: async (peer: PeerCandidate) => (await this.ask(`Import ${peer.state} ${peer.usage} SHA-256 ${peer.info.fingerprintSha256.slice(0, 32)}…? (yes/no): `)) === 'yes',
      };
    } else if (c === '5') input = {};
    else return;
    try {
      const r = await this.deps.provision(input, user.username, out);
      this.out(r.summary);
      for (const csr of r.csrs) this.out(`request for the CA: ${csr.path}`);
      // The peer directory is read at start.
      if (input.peerFiles?.length) this.out('New or changed peers take effect after a service restart (5).');
    } catch (e) {
      this.out(`Failed: ${(e as Error).message}`);
    }
  }
}

function disk(path: string): string {
  try {
    // The data folder, or the nearest folder above it that exists (before the first start).
    let at = path;
    while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
    const s = statfsSync(at);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    return `${(free / 2 ** 30).toFixed(1)} GiB free of ${(total / 2 ** 30).toFixed(1)} GiB (${Math.round((100 * free) / total)} %)`;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}
