import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pkijs from 'pkijs';
import type { CryptoProfile, GatewayConfig, PeerConfig } from '../config/config.js';
import {
  CHANNELS,
  channelAddress,
  isMemberStateCode,
  type Channel,
  type MailChannel,
  type MemberStateCode,
} from './member-states.js';

/** A peer's certificate as loaded from its PEM file, with what verification needs pre-computed. */
export interface PeerCertificate {
  readonly path: string;
  readonly der: Buffer;
  readonly x509: X509Certificate;
  /** Parsed once for issuer/serial and key-identifier matching of CMS signer and recipient ids. */
  readonly pkijs: pkijs.Certificate;
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly keyBits: number;
  /** subjectKeyIdentifier extension, or the RFC 5280 method-1 hash when the extension is absent. */
  readonly subjectKeyIdentifier: Buffer;
}

export interface ChannelEntry {
  readonly enabled: boolean;
  /** Mail address on dna/fp; null for vrd (HTTPS) unless configured. */
  readonly address: string | null;
}

export interface Peer {
  readonly code: MemberStateCode;
  readonly name: string | null;
  readonly channels: Readonly<Record<Channel, ChannelEntry>>;
  /** Verifies the peer's signatures. When only one certificate is configured it serves both uses. */
  readonly signing: PeerCertificate | null;
  /** Our messages to the peer are encrypted to it. */
  readonly encryption: PeerCertificate | null;
  readonly crypto: CryptoProfile;
  readonly dailyCapacity: number | null;
}

export class PeerDirectoryError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`peer directory:\n  ${problems.join('\n  ')}`);
    this.name = 'PeerDirectoryError';
  }
}

const SKI_OID = '2.5.29.14';

/** Annex ch.1 §5.7.5 domains; gr/gb are accepted for peers that used ISO codes in their domain. */
const PRUEM_DOMAIN = /^(dna|fp)\.pruem\.([a-z]{2})\.eu-admin\.net\.?$/;
const ISO_ALIASES: Readonly<Record<string, MemberStateCode>> = { GR: 'EL', GB: 'UK' };

export function loadPeerCertificate(path: string): PeerCertificate {
  const text = readFileSync(path, 'utf8');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text);
  const der = m?.[1] ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : Buffer.from(text, 'binary');
  return certificateFromDer(der, path);
}

export function certificateFromDer(der: Buffer, path = '(memory)'): PeerCertificate {
  const x509 = new X509Certificate(der);
  const parsed = pkijs.Certificate.fromBER(new Uint8Array(der));
  const skiExt = parsed.extensions?.find((e) => e.extnID === SKI_OID);
  let ski: Buffer;
  if (skiExt?.parsedValue && 'valueBlock' in skiExt.parsedValue) {
    ski = Buffer.from((skiExt.parsedValue as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView);
  } else {
    ski = createHash('sha1').update(x509.publicKey.export({ type: 'pkcs1', format: 'der' })).digest();
  }
  return {
    path,
    der,
    x509,
    pkijs: parsed,
    fingerprintSha256: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
    subject: x509.subject.replace(/\n/g, ', '),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    keyBits: x509.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    subjectKeyIdentifier: ski,
  };
}

/** Extracts the mailbox from `Name <addr>` or `addr`, lower-cased. */
export function mailbox(address: string): string {
  const angle = /<([^<>]+)>/.exec(address);
  return (angle?.[1] ?? address).trim().toLowerCase();
}

/**
 * Every Member State we exchange with: code, channels and their mail addresses, certificates and
 * crypto profile, built from the configuration. Certificates are pinned: a signature is accepted only
 * from the certificate configured for that peer, whatever CA issued it.
 */
export class PeerDirectory {
  readonly ours: MemberStateCode;
  readonly problems: readonly string[];
  private readonly peers = new Map<MemberStateCode, Peer>();
  private readonly byFingerprint = new Map<string, Peer>();
  private readonly byAddress = new Map<string, { state: MemberStateCode; channel: Channel }>();

  /** Throws PeerDirectoryError listing every problem, unless `tolerant` (then peers lose the bad certificates only). */
  constructor(config: GatewayConfig, opts: { tolerant?: boolean } = {}) {
    this.ours = config.memberState;
    const problems: string[] = [];
    for (const p of config.peers) {
      const peer = this.buildPeer(p, problems);
      this.peers.set(peer.code, peer);
      for (const cert of [peer.signing, peer.encryption]) if (cert) this.byFingerprint.set(cert.fingerprintSha256, peer);
      for (const ch of CHANNELS) {
        const entry = peer.channels[ch];
        if (entry.address) this.byAddress.set(entry.address.toLowerCase(), { state: peer.code, channel: ch });
      }
    }
    this.problems = problems;
    if (problems.length && !opts.tolerant) throw new PeerDirectoryError(problems);
  }

  private buildPeer(p: PeerConfig, problems: string[]): Peer {
    const load = (use: 'signing' | 'encryption'): PeerCertificate | null => {
      const path = p.certificates[use];
      if (!path) return null;
      try {
        const cert = loadPeerCertificate(path);
        if (cert.x509.publicKey.asymmetricKeyType !== 'rsa') {
          problems.push(`peers.${p.code}.certificates.${use}: ${path} has a ${cert.x509.publicKey.asymmetricKeyType} key; RSA is required`);
          return null;
        }
        if (cert.keyBits < 2048 && !p.crypto.allowLegacy) {
          problems.push(`peers.${p.code}.certificates.${use}: RSA-${cert.keyBits} key needs crypto.allowLegacy`);
          return null;
        }
        return cert;
      } catch (e) {
        problems.push(`peers.${p.code}.certificates.${use}: cannot load ${path}: ${(e as Error).message}`);
        return null;
      }
    };
    const signing = load('signing');
    const encryption = load('encryption');
    const channels = {} as Record<Channel, ChannelEntry>;
    for (const ch of CHANNELS) {
      const s = p.channels[ch];
      const enabled = s?.enabled ?? true;
      const address = s?.address ?? (ch === 'vrd' ? null : channelAddress(ch, p.code));
      channels[ch] = { enabled, address };
    }
    return {
      code: p.code,
      name: p.name ?? null,
      channels,
      signing: signing ?? encryption,
      encryption: encryption ?? signing,
      crypto: p.crypto,
      dailyCapacity: p.dailyCapacity ?? null,
    };
  }

  list(): readonly Peer[] {
    return [...this.peers.values()];
  }

  get(code: MemberStateCode): Peer | undefined {
    return this.peers.get(code);
  }

  /** The peer whose configured signing certificate is exactly this one (SHA-256 of the DER). */
  findBySigner(cert: X509Certificate | Uint8Array | string): Peer | null {
    let fp: string;
    if (typeof cert === 'string') fp = new X509Certificate(cert).fingerprint256;
    else if (cert instanceof Uint8Array) fp = new X509Certificate(Buffer.from(cert)).fingerprint256;
    else fp = cert.fingerprint256;
    const peer = this.byFingerprint.get(fp.replace(/:/g, '').toLowerCase());
    if (!peer || !peer.signing) return null;
    return peer.signing.fingerprintSha256 === fp.replace(/:/g, '').toLowerCase() ? peer : null;
  }

  /**
   * The peer and certificate a CMS SignerIdentifier names, for signatures that do not carry the
   * signer's certificate: by issuer and serial number, or by subject key identifier.
   */
  findBySignerId(sid: pkijs.IssuerAndSerialNumber | { subjectKeyIdentifier: Uint8Array }): { peer: Peer; certificate: PeerCertificate } | null {
    for (const peer of this.peers.values()) {
      const cert = peer.signing;
      if (!cert) continue;
      if (sid instanceof pkijs.IssuerAndSerialNumber) {
        if (cert.pkijs.issuer.isEqual(sid.issuer) && cert.pkijs.serialNumber.isEqual(sid.serialNumber)) return { peer, certificate: cert };
      } else if (Buffer.from(sid.subjectKeyIdentifier).equals(cert.subjectKeyIdentifier)) {
        return { peer, certificate: cert };
      }
    }
    return null;
  }

  /** Where to send to `code` on `channel`; null when the peer is unknown or the channel is disabled. */
  addressFor(code: MemberStateCode, channel: MailChannel): string | null {
    const peer = this.peers.get(code);
    if (!peer) return null;
    const entry = peer.channels[channel];
    return entry.enabled ? entry.address : null;
  }

  /** Our own mailbox on a channel (the From of what we send). */
  ourAddress(channel: MailChannel): string {
    return channelAddress(channel, this.ours);
  }

  /**
   * The Member State an address belongs to: a configured peer address, or any address on
   * `dna|fp.pruem.<cc>.eu-admin.net` (cc as the Annex writes it: `el`, `uk`; `gr`/`gb` are mapped).
   * Null for anything else. The code may be ours or a State that is not configured as a peer.
   */
  stateForAddress(address: string): MemberStateCode | null {
    return this.routeForAddress(address)?.state ?? null;
  }

  /** The channel an address belongs to (dna/fp), by the same rules as stateForAddress. */
  channelForAddress(address: string): MailChannel | null {
    const ch = this.routeForAddress(address)?.channel ?? null;
    return ch === 'dna' || ch === 'fp' ? ch : null;
  }

  private routeForAddress(address: string): { state: MemberStateCode; channel: Channel } | null {
    const box = mailbox(address);
    const configured = this.byAddress.get(box);
    if (configured) return configured;
    const at = box.lastIndexOf('@');
    if (at < 0) return null;
    const m = PRUEM_DOMAIN.exec(box.slice(at + 1));
    if (!m?.[1] || !m[2]) return null;
    const cc = m[2].toUpperCase();
    const code = ISO_ALIASES[cc] ?? cc;
    if (!isMemberStateCode(code)) return null;
    return { state: code, channel: m[1] === 'dna' ? 'dna' : 'fp' };
  }
}
