/**
 * What the API needs from the rest of the gateway: small ports, defined here by their user.
 * The composition root (appliance/main.ts) adapts the real parts to them; tests may pass
 * real parts wired differently. Every method may throw; the API turns a throw into
 * DEPENDENCY_FAILED (or into the ApiError it carries) and never crashes on it.
 */
import type Database from 'better-sqlite3';
import type { GatewayConfig } from '../config/config.js';
import type { GatewayStatus } from '../status/types.js';
import type { HealthSample, HealthThresholds } from '../health/types.js';
import type { LockoutPolicy } from '../accounts/lockout.js';
import type { ScryptCost } from '../accounts/passwords.js';
import type { Role } from '../accounts/roles.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { RouteModule } from './routing.js';
import type {
  AuditEntry,
  AuditExportProgress,
  AuditExportRequest,
  AuditExportResult,
  AuditQuery,
  AuditSearchResult,
  AuditVerifyResult,
  CertificateInfo,
  CsrRequest,
  CsrResult,
  NetworkSettings,
  Officer,
  OfficerInput,
  OfficersClientView,
  StatisticsRow,
  TestMessageResult,
  TestMessageTarget,
  TokenState,
  UsbDrive,
} from './wire.js';

/** The token and certificate library (provisioning/), shared with the CLI and the serial console. */
export interface ProvisioningPort {
  tokenState(): Promise<TokenState>;
  /** Our own certificates (with keys on the token) and the peers' certificates. */
  certificates(): Promise<readonly CertificateInfo[]>;
  generateCsr(request: CsrRequest): Promise<CsrResult>;
  /** Imports a certificate for one of our token keys (the CA's answer to a CSR). */
  importCertificate(pem: string): Promise<CertificateInfo>;
  /** Checks and files a peer's certificate; the API then points the peer's configuration at `path`. */
  importPeerCertificate(peer: MemberStateCode, usage: 'signing' | 'encryption', pem: string): Promise<{ certificate: CertificateInfo; path: string; warnings: readonly string[] }>;
  /** First run: initialise a blank token with this PIN, or log in to an initialised one; store the PIN where the daemon reads it. */
  setupToken(pin: string): Promise<TokenState>;
}

/** The Art. 30 audit log (audit/). */
export interface AuditPort {
  search(query: AuditQuery): Promise<AuditSearchResult>;
  usbDrives(): Promise<readonly UsbDrive[]>;
  /** `actor` is the signed-in auditor, recorded by the log with the export. */
  exportBundle(request: AuditExportRequest, actor: string, onProgress: (progress: AuditExportProgress) => void): Promise<AuditExportResult>;
  verifyBundle(path: string): Promise<AuditVerifyResult>;
}

/** Authorised officers (DP-AUTH, Art. 30(2)(a)). */
export interface OfficersPort {
  list(): Promise<readonly Officer[]>;
  /** Creates or updates (by id). */
  save(officer: OfficerInput, actor: string): Promise<Officer>;
  /** Withdraws the authorisation; the officer stays listed (the log refers to it). */
  revoke(id: string, actor: string): Promise<Officer>;
}

/** The officers' API client credentials (one per national client system). Failures throw ApiError (CLIENT_*). */
export interface OfficersClientsPort {
  list(): Promise<readonly OfficersClientView[]>;
  /** The credential is returned this once; only its digest is kept. */
  add(name: string, actor: string): Promise<{ client: OfficersClientView; credential: string }>;
  revoke(idOrName: string, actor: string): Promise<OfficersClientView>;
}

/** Annual statistics (Annex ch.4). */
export interface StatisticsPort {
  annual(year: number): Promise<readonly StatisticsRow[]>;
}

/** The configuration file the daemon runs with. */
export interface ConfigPort {
  current(): GatewayConfig;
  /** Validated already; writes it where the daemon reads it and applies what it can at once. */
  apply(next: GatewayConfig): Promise<{ readonly restartRequired: boolean } | void>;
}

export interface NetworkPort {
  current(): Promise<NetworkSettings | null>;
  apply(settings: NetworkSettings): Promise<void>;
}

export interface SystemPort {
  restartService(): Promise<void>;
  reboot(): Promise<void>;
}

export interface HealthPort {
  sample(): Promise<HealthSample>;
}

export interface DiagnosticsPort {
  /** Extra text sections for the support bundle (recent log lines…); redacted before they are written. */
  sections(): Promise<Readonly<Record<string, string>>>;
}

/** One administrative action, for the audit log: who did what to which target, and how it ended. */
export interface AdminAuditEvent {
  readonly at: string;
  readonly actor: string | null;
  readonly role: Role | 'setup' | null;
  /** Dotted verb: account.create, config.relay.change, certificate.import, service.restart… */
  readonly action: string;
  /** What it acted on: "account operator1 (operator)", "peer DE dna", "relay". */
  readonly target: string;
  readonly outcome: 'success' | 'failure' | 'denied';
  /** Why it failed or what changed, short; never a password, PIN or key. */
  readonly detail?: string;
  readonly remote: string | null;
}

export interface SecurityOptions {
  readonly idleMinutes?: number;
  readonly absoluteHours?: number;
  readonly lockout?: LockoutPolicy;
  readonly scrypt?: ScryptCost;
  /** Set the Secure cookie flag (when the management interface is served over TLS). */
  readonly secureCookies?: boolean;
}

export interface ApiDeps {
  /** The gateway's SQLite database; the API keeps its tables under accounts_ and api_. */
  readonly db: Database.Database;
  readonly version: string;
  status(): GatewayStatus | Promise<GatewayStatus>;
  readonly config: ConfigPort;
  readonly provisioning: ProvisioningPort;
  readonly audit: AuditPort;
  readonly officers: OfficersPort;
  /** Absent: the console cannot manage officers' API clients (NOT_CONFIGURED). */
  readonly officersClients?: OfficersClientsPort;
  readonly statistics: StatisticsPort;
  auditAdmin(event: AdminAuditEvent): void | Promise<void>;
  sendTestMessage(target: TestMessageTarget): Promise<TestMessageResult>;
  readonly system: SystemPort;
  readonly network?: NetworkPort;
  /** Defaults to systeminformation (appliance/health). */
  readonly health?: HealthPort;
  readonly healthThresholds?: HealthThresholds;
  readonly diagnostics?: DiagnosticsPort;
  /** Folder of the console bundle; default dist/console at the project root. */
  readonly consoleDir?: string;
  /** More routes under /api, mounted behind the same session and CSRF checks (DNA searches…). */
  readonly extraRoutes?: readonly RouteModule[];
  /** Called with the one-time set-up code while no account exists; the daemon shows it on the local console. */
  readonly onSetupCode?: (code: string) => void;
  readonly security?: SecurityOptions;
  /** ms since epoch; tests move it to try idle timeouts and lockouts. */
  readonly clock?: () => number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export type { AuditEntry };
