/**
 * The partners of the vehicle channel: for each configured peer, the certificate its vehicle messages
 * are signed with (pinned), its service URL, the certificate its HTTPS listener presents, and the
 * services we authorise it to use on ours. Built from the peer directory and the peers' `vehicle` block.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/config.js';
import type { PeerDirectory } from '../peers/directory.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { VehicleService } from './journal.js';
import { CURRENT_SCHEMA_VERSION, type SchemaVersion } from './data-set.js';
import type { TrustedSigner } from './ws-security.js';

export interface VehiclePartner {
  readonly state: MemberStateCode;
  readonly certificate: X509Certificate | null;
  readonly url: string | null;
  /** Path of the certificate (or CA) the partner's HTTPS listener is checked against; null: the system's CAs. */
  readonly tlsCertificatePath: string | null;
  readonly authorised: ReadonlySet<VehicleService>;
  readonly enabled: boolean;
  readonly schemaVersion: SchemaVersion;
}

export interface PartnerSigner extends TrustedSigner {
  readonly state: MemberStateCode;
}

function fingerprint(c: X509Certificate): string {
  return c.fingerprint256;
}

export class VehiclePartners {
  readonly problems: string[] = [];
  private readonly partners = new Map<MemberStateCode, VehiclePartner>();
  private readonly byFingerprint = new Map<string, VehiclePartner>();

  constructor(config: GatewayConfig, directory: PeerDirectory) {
    for (const p of config.peers) {
      let certificate: X509Certificate | null = null;
      if (p.vehicle?.certificate) {
        try {
          certificate = new X509Certificate(readFileSync(p.vehicle.certificate));
        } catch (e) {
          this.problems.push(`peers.${p.code}.vehicle.certificate: cannot load ${p.vehicle.certificate}: ${(e as Error).message}`);
        }
      } else {
        certificate = directory.get(p.code)?.signing?.x509 ?? null;
      }
      const partner: VehiclePartner = {
        state: p.code,
        certificate,
        url: p.vehicle?.url ?? null,
        tlsCertificatePath: p.vehicle?.tlsCertificate ?? null,
        authorised: new Set(p.vehicle?.authorised ?? []),
        enabled: p.channels.vrd?.enabled ?? true,
        schemaVersion: p.vehicle?.schemaVersion ?? CURRENT_SCHEMA_VERSION,
      };
      this.partners.set(p.code, partner);
      if (certificate) this.byFingerprint.set(fingerprint(certificate), partner);
    }
  }

  get(state: MemberStateCode): VehiclePartner | undefined {
    return this.partners.get(state);
  }

  list(): VehiclePartner[] {
    return [...this.partners.values()];
  }

  /** States we can search: enabled, with a URL and a pinned certificate to check their answers. */
  searchable(): VehiclePartner[] {
    return this.list().filter((p) => p.enabled && p.url !== null && p.certificate !== null);
  }

  /** The partner whose pinned certificate is exactly the one presented (a message must present it). */
  trust(presented: X509Certificate | null): PartnerSigner | null {
    if (!presented) return null;
    const p = this.byFingerprint.get(fingerprint(presented));
    if (!p || !p.certificate || !p.enabled) return null;
    return { state: p.state, certificate: p.certificate, label: p.state };
  }

  authorised(state: MemberStateCode, service: VehicleService): boolean {
    const p = this.partners.get(state);
    return p !== undefined && p.enabled && p.authorised.has(service);
  }
}
