import { readFileSync } from 'node:fs';
import { resolve, dirname, isAbsolute } from 'node:path';
import { z } from 'zod';
import { MEMBER_STATES } from '../peers/member-states.js';

const memberState = z.enum(MEMBER_STATES);

/** Dotted quad with octets 0–255, with a /0–32 prefix when asked for. */
function ipv4(text: string, withPrefix: boolean): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!m || (m[5] === undefined) === withPrefix) return false;
  return m.slice(1, 5).every((o) => Number(o) <= 255) && (!withPrefix || Number(m[5]) <= 32);
}
const host = z.string().min(1);
const port = z.number().int().min(0).max(65535);

/**
 * HTTPS for a listener: 'self-signed' (the appliance's own certificate, made on first start in
 * <dataDir>/tls/), 'off', or the agency's certificate and key (PEM paths). Unset: off on a loopback
 * address, self-signed on any other (provisioning/listener-tls.ts).
 */
const listenerTls = z.union([z.enum(['off', 'self-signed']), z.object({ certificate: z.string().min(1), key: z.string().min(1) }).strict()]).optional();

/** Where the token PIN comes from. Never written to logs. */
const pinSource = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  // A literal PIN is accepted for development tokens only; the provisioning tool writes a file instead.
  z.object({ value: z.string().min(4) }).strict(),
]);

const cryptoProfile = z
  .object({
    /** Accept SHA-1 signatures and RSA-1024 keys from this peer (the 2008 Annex baseline). */
    allowLegacy: z.boolean().default(false),
    /** Key transport we produce for this peer; we accept both on input. */
    keyTransport: z.enum(['rsa-oaep-sha256', 'rsa-pkcs1']).default('rsa-pkcs1'),
    digest: z.enum(['sha256', 'sha384', 'sha512', 'sha1']).default('sha256'),
  })
  .strict();

const channelSettings = z
  .object({
    enabled: z.boolean().default(true),
    /** Override of the Annex address (ncp@dna.pruem.<cc>.eu-admin.net). */
    address: z.string().email().optional(),
  })
  .strict();

/**
 * The vehicle channel with this peer (appliance/vehicle): its service URL, the certificate its vehicle
 * messages are signed with (default: the peer's signing certificate), the certificate its HTTPS listener
 * presents (self-signed or from a CA we do not otherwise trust), and which vehicle services we
 * authorise it to use on ours (Annex ch.3 §3.2.5 no. 34: none unless listed).
 */
const vehiclePeer = z
  .object({
    url: z.string().url().optional(),
    certificate: z.string().optional(),
    tlsCertificate: z.string().optional(),
    authorised: z.array(z.enum(['vin-search', 'plate-search'])).default([]),
    /** The message schema version the peer speaks; default the newest. */
    schemaVersion: z.enum(['1.0', '1.1']).optional(),
  })
  .strict();

const logLevel = z.enum(['full', 'private', 'none']);
/** Annex ch.3 §2.3.3 message types (as seen from our core), for the logging level of each. */
const vehicleMessageType = z.enum(['client-request', 'request-to-peer', 'response-from-peer', 'response-to-client', 'request-from-peer', 'request-to-register', 'response-from-register', 'response-to-peer']);

/** The vehicle registration channel (SOAP over HTTPS on its own TESTA-side listener). */
const vehicleSettings = z
  .object({
    /** null: the service is not offered (searches abroad still work). TLS defaults to self-signed, even on loopback. */
    listen: z.object({ host: host.default('127.0.0.1'), port: port.default(8443), tls: listenerTls }).strict().nullable().default(null),
    register: z
      .union([
        z.object({ kind: z.literal('demo'), path: z.string().default('vehicle-register.sqlite'), simulatedDelayMs: z.number().int().min(0).default(0), seedVehicles: z.number().int().min(0).default(500) }).strict(),
        z.object({ kind: z.literal('http'), url: z.string().url() }).strict(),
      ])
      .default({ kind: 'demo', path: 'vehicle-register.sqlite', simulatedDelayMs: 0, seedVehicles: 500 }),
    /** End-to-end bound of one request (Annex ch.3 §3.2.4 no. 27: at most 10 seconds). */
    deadlineSeconds: z.number().positive().max(10).default(10),
    /** Oldest wsu:Created accepted, and the clock difference tolerated. */
    timestampWindowSeconds: z.number().int().positive().max(3600).default(300),
    clockSkewSeconds: z.number().int().min(0).max(600).default(60),
    /** Logging level per service and message type; unlisted: private. */
    logging: z.record(z.enum(['vin-search', 'plate-search']), z.partialRecord(vehicleMessageType, logLevel)).optional(),
    /** How long a search for an unreachable State waits in the queue before it is given up. */
    queueHours: z.number().positive().max(168).default(24),
  })
  .strict();

const peer = z
  .object({
    code: memberState,
    name: z.string().optional(),
    channels: z
      .object({ dna: channelSettings.optional(), fp: channelSettings.optional(), vrd: channelSettings.optional() })
      .strict()
      .default({}),
    /** PEM files; relative paths are resolved against the configuration file's folder. */
    certificates: z
      .object({ signing: z.string().optional(), encryption: z.string().optional() })
      .strict()
      .default({}),
    crypto: cryptoProfile.default({ allowLegacy: false, keyTransport: 'rsa-pkcs1', digest: 'sha256' }),
    /** Fingerprint searches per day this peer declared (2008/616 Art. 13). */
    dailyCapacity: z.number().int().nonnegative().optional(),
    vehicle: vehiclePeer.optional(),
  })
  .strict();

/** Fingerprint searches per day and type of search (2008/616 Art. 13); absent: no limit of its own. */
const fpSearchCounts = z
  .object({
    CPS: z.number().int().nonnegative().optional(),
    PMS: z.number().int().nonnegative().optional(),
    MPS: z.number().int().nonnegative().optional(),
    MMS: z.number().int().nonnegative().optional(),
  })
  .strict();

/** The fingerprint channel (appliance/fingerprint-exchange/, docs/fingerprint-exchange.md). */
const fingerprint = z
  .object({
    /**
     * The national AFIS: 'none' (no AFIS connected: searches from peers are answered with an ERR at
     * once), 'demo' (the demo AFIS with a synthetic population — demo network and tests only), or
     * `{ "directory": PATH }` (an AFIS taking NIST files from a folder and leaving results in another;
     * relative to dataDir; fingerprint/afis/directory.ts).
     */
    afis: z.union([z.enum(['demo', 'none']), z.object({ directory: z.string().min(1) }).strict()]).default('none'),
    capacity: z
      .object({
        /** What we declared: searches per UTC day and type we answer for each peer. */
        ours: fpSearchCounts.default({ CPS: 1000, PMS: 1000, MPS: 1000, MMS: 1000 }),
        /** Other figures for some peers (bilateral arrangements), per type; the rest falls back to `ours`. */
        oursPerPeer: z.partialRecord(memberState, fpSearchCounts).default({}),
        /** What each peer declared, per type; for a type not given, the peer's `dailyCapacity` counts all types together. */
        peers: z.partialRecord(memberState, fpSearchCounts).default({}),
      })
      .strict()
      .default({ ours: { CPS: 1000, PMS: 1000, MPS: 1000, MMS: 1000 }, oursPerPeer: {}, peers: {} }),
    /** Size of the demo AFIS's synthetic population, enrolled on first start (afis 'demo'). */
    demoPopulation: z
      .object({ persons: z.number().int().nonnegative().default(100), latents: z.number().int().nonnegative().default(40) })
      .strict()
      .default({ persons: 100, latents: 40 }),
  })
  .strict();

export const configSchema = z
  .object({
    memberState: memberState.default('RO'),
    /** Our NCP's name as the searching / file-managing body in the Art. 30 record. */
    agency: z.string().min(1).max(100).default('NCP'),
    /** Folder for the SQLite databases, the token store of a development token, certificates. */
    dataDir: z.string().default('var'),
    listen: z
      .object({
        /** The management interface (console and API). */
        api: z
          .object({
            host: host.default('127.0.0.1'),
            port: port.default(8080),
            tls: listenerTls,
          })
          .strict()
          .default({ host: '127.0.0.1', port: 8080 }),
        smtp: z
          .object({ host: host.default('127.0.0.1'), port: port.default(2525) })
          .strict()
          .nullable()
          .default({ host: '127.0.0.1', port: 2525 }),
        /** The officers' client API on the police LAN (one credential per client system: `pruem officers-client`). */
        officers: z
          .object({ host: host.default('127.0.0.1'), port: port.default(8090), tls: listenerTls })
          .strict()
          .nullable()
          .default({ host: '127.0.0.1', port: 8090 }),
      })
      .strict()
      .default({ api: { host: '127.0.0.1', port: 8080 }, smtp: { host: '127.0.0.1', port: 2525 }, officers: { host: '127.0.0.1', port: 8090 } }),
    /** The TESTA central mail relay. null: no TESTA link, the demo network is used. */
    relay: z
      .object({ host, port: port.default(25), requireTls: z.boolean().default(false) })
      .strict()
      .nullable()
      .default(null),
    pop3: z
      .object({
        host,
        port: port.default(110),
        user: z.string().min(1),
        password: pinSource,
        tls: z.boolean().default(false),
        intervalSeconds: z.number().positive().default(30),
      })
      .strict()
      .nullable()
      .default(null),
    token: z
      .object({
        module: z.string().default('/usr/lib/softhsm/libsofthsm2.so'),
        label: z.string().min(1).default('pruem'),
        slot: z.number().int().nonnegative().optional(),
        pin: pinSource.default({ file: 'token.pin' }),
        /** SoftHSM2 only: its configuration file (a private token directory). */
        softhsmConf: z.string().optional(),
      })
      .strict()
      .default({ module: '/usr/lib/softhsm/libsofthsm2.so', label: 'pruem', pin: { file: 'token.pin' } }),
    limits: z
      .object({
        /** Largest mail accepted or sent; the Annex leaves it to each installation (TX-SMTP). */
        maxMessageBytes: z.number().int().positive().default(20 * 1024 * 1024),
        /** Profiles per outgoing DNA message (DNA-XML allows at most 500). */
        maxProfilesPerMessage: z.number().int().min(1).max(500).default(500),
      })
      .strict()
      .default({ maxMessageBytes: 20 * 1024 * 1024, maxProfilesPerMessage: 500 }),
    /** The inbound pipeline's hardening: dead letters, replay window, retention of working storage. */
    exchange: z
      .object({
        /** Consecutive failures of the same kind after which an inbox message becomes a dead letter (its data purged). */
        maxFailures: z.number().int().min(1).max(100).default(5),
        /** A CMS signing time must lie in [now - pastHours, now + futureMinutes]; replays are recognised within it. */
        replayWindow: z
          .object({ pastHours: z.number().positive().max(24 * 30).default(24), futureMinutes: z.number().min(0).max(24 * 60).default(5) })
          .strict()
          .default({ pastHours: 24, futureMinutes: 5 }),
        /**
         * An outbound message the relay keeps refusing temporarily is given up on this many hours after it was
         * queued: a dead letter (its sealed copy purged), audited and on the dashboard, instead of retrying for ever.
         */
        outboundGiveUpHours: z.number().positive().max(24 * 30).default(72),
        /** Finished queue rows and the operators' rejection list are deleted after this many days (the audit log keeps its own two years). */
        retentionDays: z
          .object({ queue: z.number().int().min(1).max(3650).default(30), rejections: z.number().int().min(1).max(3650).default(180) })
          .strict()
          .default({ queue: 30, rejections: 180 }),
      })
      .strict()
      .default({ maxFailures: 5, replayWindow: { pastHours: 24, futureMinutes: 5 }, outboundGiveUpHours: 72, retentionDays: { queue: 30, rejections: 180 } }),
    peers: z.array(peer).default([]),
    vehicle: vehicleSettings.default({ listen: null, register: { kind: 'demo', path: 'vehicle-register.sqlite', simulatedDelayMs: 0, seedVehicles: 500 }, deadlineSeconds: 10, timestampWindowSeconds: 300, clockSkewSeconds: 60, queueHours: 24 }),
    /** The management interface's address, set on the serial console or by `pruem provision` (the image's networkd applies it). */
    network: z
      .object({
        interface: z.string().regex(/^[A-Za-z0-9._-]{1,15}$/),
        address: z.string().refine((s) => ipv4(s, true), 'IPv4 address with prefix, e.g. 10.0.0.2/24'),
        gateway: z.string().refine((s) => ipv4(s, false), 'IPv4 address').nullable().default(null),
        dns: z.array(z.string().refine((s) => ipv4(s, false), 'IPv4 address')).max(3).default([]),
      })
      .strict()
      .nullable()
      .default(null),
    /** The technicians' serial console (appliance/serial/), 8N1. */
    serial: z
      .object({
        enabled: z.boolean().default(false),
        device: z.string().min(1).default('/dev/ttyS0'),
        baudRate: z.number().int().positive().default(115200),
        /** Signed-in sessions end after this long without a key press. */
        idleMinutes: z.number().positive().default(10),
      })
      .strict()
      .default({ enabled: false, device: '/dev/ttyS0', baudRate: 115200, idleMinutes: 10 }),
    fingerprint: fingerprint.default({
      afis: 'none',
      capacity: { ours: { CPS: 1000, PMS: 1000, MPS: 1000, MMS: 1000 }, oursPerPeer: {}, peers: {} },
      demoPopulation: { persons: 100, latents: 40 },
    }),
    /**
     * Art. 4 comparisons by agreement (issue 15): per partner, our new and changed profiles of the agreed types
     * are sent every night at `hourUtc`, at most `maxProfilesPerMessage` a message and `maxProfilesPerDay` a day
     * (the partner's declared limit). The officers are those the agreement names (Art. 30(2)).
     */
    dnaComparisons: z
      .array(
        z
          .object({
            partner: memberState,
            types: z.array(z.enum(['P', 'S'])).min(1).max(2).default(['S']),
            hourUtc: z.number().int().min(0).max(23).default(2),
            maxProfilesPerMessage: z.number().int().min(1).max(500).default(500),
            maxProfilesPerDay: z.number().int().min(1).default(100_000),
            officerId: z.string().trim().min(1).max(100),
            orderingOfficerId: z.string().trim().min(1).max(100),
            reason: z.string().trim().min(3).max(1000).default('Art. 4 comparison by agreement'),
          })
          .strict(),
      )
      .default([]),
    /** Audit log exports (Art. 30): folders a directory export may be written below; relative to dataDir. USB drives are always allowed. */
    audit: z
      .object({ exportRoots: z.array(z.string().min(1)).max(20).default(['exports']) })
      .strict()
      .default({ exportRoots: ['exports'] }),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
export type PeerConfig = z.infer<typeof peer>;
export type PinSource = z.infer<typeof pinSource>;
export type CryptoProfile = z.infer<typeof cryptoProfile>;
export type VehicleSettings = z.infer<typeof vehicleSettings>;
export type VehiclePeerConfig = z.infer<typeof vehiclePeer>;
export type FingerprintConfig = z.infer<typeof fingerprint>;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Turns zod's issues into lines that name the bad key, e.g. `peers.2.code: invalid value "GR" (expected one of …)`. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${path}: ${issue.message}`;
  });
}

/**
 * Development: the token is SoftHSM2 (the development token `pruem provision` makes, with
 * DEVELOPMENT certificates). A smartcard or HSM is production, where a PIN written into the
 * configuration file would end up in copies, backups and support bundles.
 */
export function isDevelopmentToken(module: string): boolean {
  return /softhsm/i.test(module.split('/').at(-1) ?? '');
}

/** Validates a parsed configuration object; errors are values here because the input is a user's file. */
export function parseConfig(raw: unknown): { ok: true; config: GatewayConfig } | { ok: false; error: ConfigError } {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) {
    const codes = result.data.peers.map((p) => p.code);
    const dup = codes.find((c, i) => codes.indexOf(c) !== i);
    if (dup) return { ok: false, error: new ConfigError('invalid configuration', [`peers: ${dup} is listed twice`]) };
    if (codes.includes(result.data.memberState)) {
      return { ok: false, error: new ConfigError('invalid configuration', [`peers: ${result.data.memberState} is our own Member State`]) };
    }
    if ('value' in result.data.token.pin && !isDevelopmentToken(result.data.token.module)) {
      const issue = 'token.pin: a literal PIN is accepted for a SoftHSM2 development token only; give { "file": … } (mode 0600) or { "env": … }';
      return { ok: false, error: new ConfigError(`invalid configuration:\n  ${issue}`, [issue]) };
    }
    return { ok: true, config: result.data };
  }
  const issues = describeIssues(result.error);
  return { ok: false, error: new ConfigError(`invalid configuration:\n  ${issues.join('\n  ')}`, issues) };
}

/**
 * Loads a JSON configuration file. Relative paths inside it (dataDir, certificates, PIN files)
 * are made absolute against the file's own folder, so the daemon does not depend on its cwd.
 */
export function loadConfig(path: string | undefined): GatewayConfig {
  let raw: unknown = {};
  let base = process.cwd();
  if (path) {
    base = dirname(resolve(path));
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read configuration ${path}: ${(e as Error).message}`, []);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`configuration ${path} is not valid JSON: ${(e as Error).message}`, []);
    }
  }
  const parsed = parseConfig(raw);
  if (!parsed.ok) throw parsed.error;
  return resolvePaths(parsed.config, base);
}

function abs(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

function resolveTls<L extends { tls?: z.infer<typeof listenerTls> }>(base: string, listener: L): L {
  const tls = listener.tls;
  return typeof tls === 'object' ? { ...listener, tls: { certificate: abs(base, tls.certificate), key: abs(base, tls.key) } } : listener;
}

function resolvePin(base: string, pin: PinSource): PinSource {
  return 'file' in pin ? { file: abs(base, pin.file) } : pin;
}

export function resolvePaths(config: GatewayConfig, base: string): GatewayConfig {
  const dataDir = abs(base, config.dataDir);
  return {
    ...config,
    dataDir,
    token: {
      ...config.token,
      // A relative PIN file lives in the data folder, next to the development token.
      pin: 'file' in config.token.pin ? { file: abs(dataDir, config.token.pin.file) } : config.token.pin,
      ...(config.token.softhsmConf ? { softhsmConf: abs(base, config.token.softhsmConf) } : {}),
    },
    listen: {
      ...config.listen,
      api: resolveTls(base, config.listen.api),
      officers: config.listen.officers ? resolveTls(base, config.listen.officers) : null,
    },
    pop3: config.pop3 ? { ...config.pop3, password: resolvePin(base, config.pop3.password) } : null,
    audit: { ...config.audit, exportRoots: config.audit.exportRoots.map((r) => abs(dataDir, r)) },
    peers: config.peers.map((p) => ({
      ...p,
      certificates: {
        ...(p.certificates.signing ? { signing: abs(base, p.certificates.signing) } : {}),
        ...(p.certificates.encryption ? { encryption: abs(base, p.certificates.encryption) } : {}),
      },
      ...(p.vehicle
        ? { vehicle: { ...p.vehicle, ...(p.vehicle.certificate ? { certificate: abs(base, p.vehicle.certificate) } : {}), ...(p.vehicle.tlsCertificate ? { tlsCertificate: abs(base, p.vehicle.tlsCertificate) } : {}) } }
        : {}),
    })),
    vehicle: {
      ...config.vehicle,
      listen: config.vehicle.listen ? resolveTls(base, config.vehicle.listen) : null,
      register: config.vehicle.register.kind === 'demo' ? { ...config.vehicle.register, path: abs(dataDir, config.vehicle.register.path) } : config.vehicle.register,
    },
  };
}

/** Reads a secret (PIN, password) from its configured source. */
export function readSecret(source: PinSource): string {
  if ('value' in source) return source.value;
  if ('env' in source) {
    const v = process.env[source.env];
    if (v === undefined || v === '') throw new ConfigError(`environment variable ${source.env} is not set`, [source.env]);
    return v;
  }
  return readFileSync(source.file, 'utf8').trim();
}
