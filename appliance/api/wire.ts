/**
 * Data shapes that cross the API, shared by the server, the ports in deps.ts and the console.
 * Pure types: the console bundle imports them without pulling in any server code.
 */
import type { Channel, MemberStateCode } from '../peers/member-states.js';
import type { Role, Permission } from '../accounts/roles.js';
import type { Language } from '../accounts/language.js';
import type { CertificateDescription } from '../util/certificate.js';

export interface SessionUser {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly language: Language;
}

/** GET /api/session: who is signed in (if anyone) and the token unsafe requests must echo. */
export interface SessionInfo {
  readonly user: SessionUser | null;
  readonly permissions: readonly Permission[];
  readonly csrfToken: string;
  readonly setupNeeded: boolean;
  readonly idleMinutes: number;
}

export interface AccountView {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly language: Language;
  readonly disabled: boolean;
  readonly locked: boolean;
  readonly lockedUntil: string | null;
  readonly createdAt: string;
  readonly lastLoginAt: string | null;
}

// ---- token and certificates (provisioning/) ----

export interface TokenState {
  readonly present: boolean;
  readonly initialized: boolean;
  readonly loggedIn: boolean;
  readonly pinLocked: boolean;
  readonly label: string | null;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  /** One line for people: "SoftHSM2 token 'pruem', logged in". */
  readonly detail: string;
}

/** `management`: the console's own HTTPS certificate (listen.api.tls), not a Prüm certificate. */
export type CertificateUsage = 'signing' | 'encryption' | 'audit' | 'ca' | 'management' | 'other';

/** A certificate as the console lists it: the one certificate description's fields it shows, and where it belongs. */
export interface CertificateInfo extends Pick<CertificateDescription, 'subject' | 'issuer' | 'serialNumber' | 'notBefore' | 'notAfter' | 'fingerprintSha256' | 'development'> {
  /** Stable id within the appliance (token object id/label or peer/usage). */
  readonly id: string;
  readonly owner: 'own' | 'peer';
  readonly state: MemberStateCode | null;
  readonly usage: CertificateUsage;
  /** True when the private key is on the token (our own certificates). */
  readonly keyOnToken: boolean;
}

export interface CsrRequest {
  /** The token key: S/MIME signing (ncp-sign), S/MIME encryption (ncp-decrypt) or the audit log's key. */
  readonly usage: 'signing' | 'encryption' | 'audit';
  readonly commonName: string;
  readonly organization: string;
  readonly country: string;
  /**
   * Generate the key pair on the token. Refused when a key for this usage exists: the daemon
   * signs and decrypts with it, and replacing it would cut the links (key roll-over is a separate,
   * planned operation). False: use the existing key (renewal with the same key).
   */
  readonly newKey: boolean;
}

export interface CsrResult {
  readonly usage: CsrRequest['usage'];
  readonly subject: string;
  readonly pem: string;
  readonly keyLabel: string;
}

// ---- audit log (audit/) ----

export interface AuditQuery {
  /** ISO-8601 instants, inclusive from, exclusive to. */
  readonly from: string;
  readonly to: string;
  readonly state?: MemberStateCode;
  readonly channel?: Channel;
  readonly officer?: string;
  readonly reference?: string;
  readonly limit: number;
  readonly offset: number;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  /** e.g. dna.request.sent, dna.answer.received, admin.config.change */
  readonly kind: string;
  readonly channel: Channel | null;
  readonly state: MemberStateCode | null;
  readonly direction: 'in' | 'out' | null;
  readonly officer: string | null;
  readonly reference: string | null;
  readonly outcome: string | null;
  readonly summary: string;
}

export interface AuditSearchResult {
  readonly entries: readonly AuditEntry[];
  readonly total: number;
}

export interface UsbDrive {
  readonly id: string;
  readonly label: string;
  /** Where it is mounted now, if it is (an export mounts it itself, privately, and unmounts it again). */
  readonly mountPoint: string | null;
  readonly sizeBytes: number | null;
  readonly freeBytes: number | null;
}

export type AuditExportTarget = { readonly kind: 'usb'; readonly driveId: string } | { readonly kind: 'directory'; readonly path: string };

export interface AuditExportRequest {
  readonly target: AuditExportTarget;
  readonly from: string;
  readonly to: string;
  readonly state?: MemberStateCode;
  readonly channel?: Channel;
  readonly officer?: string;
  readonly reference?: string;
}

export interface AuditExportProgress {
  readonly phase: 'collecting' | 'writing' | 'signing' | 'verifying' | 'done' | 'failed';
  readonly done: number;
  readonly total: number;
}

export interface AuditExportResult {
  /** Where the bundle was written (a directory, or the folder on the drive). */
  readonly path: string;
  readonly entries: number;
  readonly files: readonly string[];
  /** The check of what was read back (from the drive after a remount, or from the folder); absent: verify it separately. */
  readonly verification?: AuditVerifyResult;
}

export interface AuditVerifyResult {
  readonly ok: boolean;
  readonly entries: number;
  /** One line per problem; empty when ok. */
  readonly problems: readonly string[];
  readonly detail: string;
}

/** GET /api/audit/exports/:id */
export interface AuditExportJob {
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly request: AuditExportRequest;
  readonly progress: AuditExportProgress;
  readonly result: AuditExportResult | null;
  readonly verification: AuditVerifyResult | null;
  readonly error: string | null;
}

// ---- officers and statistics ----

/** A national client system's credential for the officers' API (the secret is shown once, at creation). */
export type { OfficersClient as OfficersClientView } from '../dna-exchange/officers-clients.js';

export interface Officer {
  /** The officer identifier logged with each search (Art. 30(2)(b)). */
  readonly id: string;
  readonly name: string;
  readonly agency: string;
  readonly channels: readonly Channel[];
  readonly active: boolean;
  readonly authorisedFrom: string;
  readonly authorisedUntil: string | null;
}

export interface OfficerInput {
  readonly id: string;
  readonly name: string;
  readonly agency: string;
  readonly channels: readonly Channel[];
  readonly authorisedUntil: string | null;
}

export interface StatisticsRow {
  readonly state: MemberStateCode;
  readonly channel: Channel;
  /** out: our searches in that State; in: that State's searches in our data. */
  readonly direction: 'in' | 'out';
  readonly requests: number;
  readonly hits: number;
  /** DNA hits by quality (1 exact … 4 near match); fingerprints and vehicles count quality 1. */
  readonly hitsByQuality: Readonly<Record<1 | 2 | 3 | 4, number>>;
  readonly noHits: number;
  readonly errors: number;
}

// ---- first run, network, test message ----

export interface NetworkSettings {
  readonly interface: string;
  /** CIDR, e.g. 10.1.2.3/24 */
  readonly address: string;
  readonly gateway: string | null;
  readonly dns: readonly string[];
}

export type TestMessageTarget = { readonly kind: 'relay' } | { readonly kind: 'peer'; readonly state: MemberStateCode; readonly channel: Channel };

export interface TestMessageResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly elapsedMs: number;
  readonly messageId: string | null;
}

export interface SetupState {
  readonly needed: boolean;
  /** True once this browser has entered the set-up code. */
  readonly unlocked: boolean;
  readonly memberState: MemberStateCode | null;
  readonly steps: {
    readonly memberState: boolean;
    readonly network: boolean;
    readonly token: boolean;
    readonly keys: boolean;
    readonly account: boolean;
  };
  readonly csrs: readonly CsrResult[];
  /** Shown to whoever runs the wizard, to prefill the network step. */
  readonly relay: { readonly host: string; readonly port: number; readonly requireTls: boolean } | null;
  /** The token as the daemon found it (a development token is made at first start with a PIN file). */
  readonly token: TokenState | null;
}

// ---- configuration revisions ----

export interface RevisionSummary {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly summary: string;
  readonly revertOf: number | null;
}

export interface ConfigChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface RevisionDetail extends RevisionSummary {
  /** The daemon applies this change only after a service restart. */
  readonly restartRequired?: boolean;
  /** Secrets replaced by "[redacted]". */
  readonly config: unknown;
  /** Changes from the previous revision. */
  readonly changes: readonly ConfigChange[];
}

/** The part of the configuration the console edits (the rest stays as the file has it). */
export interface EditableSettings {
  readonly relay: { readonly host: string; readonly port: number; readonly requireTls: boolean } | null;
  readonly peers: ReadonlyArray<{ readonly code: MemberStateCode; readonly channels: Partial<Record<Channel, boolean>> }>;
}
