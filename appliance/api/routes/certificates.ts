import { z } from 'zod';
import type { InternalRouteModule } from '../internals.js';
import { callDependency, memberStateSchema, parseBody } from '../validate.js';
import { daysLeft, expiryLevel } from '../expiry.js';
import type { CertificateInfo, RevisionDetail } from '../wire.js';
import { changeConfig } from './config.js';

/** A certificate in PEM (or base64 DER) is a few KB; a chain a few more. */
const CERT_BODY_LIMIT = 256 * 1024;

const csrSchema = z
  .object({
    usage: z.enum(['signing', 'encryption', 'audit']),
    commonName: z.string().trim().min(1).max(64),
    organization: z.string().trim().min(1).max(64),
    country: z.string().regex(/^[A-Z]{2}$/, 'two capital letters'),
    newKey: z.boolean(),
  })
  .strict();

const pemSchema = z.string().min(20).max(CERT_BODY_LIMIT);

function describe(c: CertificateInfo): string {
  return `${c.owner === 'peer' ? `peer ${c.state ?? '?'}` : 'own'} ${c.usage} certificate ${c.subject} (serial ${c.serialNumber}, until ${c.notAfter})`;
}

/** Token state, certificates with expiry warnings, CSR generation and imports (via provisioning/). */
export const certificateRoutes: InternalRouteModule = (router, kit, internals) => {
  const { deps } = internals;
  router.get('/certificates', kit.requirePermission('certificates.read'), async (ctx) => {
    const [token, certificates] = await Promise.all([
      callDependency('token', () => deps.provisioning.tokenState()),
      callDependency('certificates', () => deps.provisioning.certificates()),
    ]);
    const now = kit.now();
    ctx.body = {
      token,
      certificates: certificates.map((c) => ({ ...c, daysLeft: daysLeft(c.notAfter, now), expiry: expiryLevel(c.notAfter, now) })),
    };
  });

  router.post('/certificates/csr', kit.requirePermission('certificates.write'), async (ctx) => {
    const request = parseBody(csrSchema, await kit.readJson(ctx));
    const target = `${request.usage} key, CN=${request.commonName}`;
    try {
      const csr = await callDependency('provisioning', () => deps.provisioning.generateCsr(request));
      await kit.audit(ctx, { action: 'certificate.csr.generate', target, outcome: 'success', detail: `${request.newKey ? 'new key' : 'existing key'} ${csr.keyLabel}` });
      ctx.body = { csr };
    } catch (e) {
      await kit.audit(ctx, { action: 'certificate.csr.generate', target, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });

  router.post('/certificates/import', kit.requirePermission('certificates.write'), async (ctx) => {
    const { pem } = parseBody(z.object({ pem: pemSchema }).strict(), await kit.readJson(ctx, CERT_BODY_LIMIT + 1024));
    try {
      const certificate = await callDependency('provisioning', () => deps.provisioning.importCertificate(pem));
      await kit.audit(ctx, { action: 'certificate.import', target: describe(certificate), outcome: 'success' });
      ctx.status = 201;
      ctx.body = { certificate };
    } catch (e) {
      await kit.audit(ctx, { action: 'certificate.import', target: 'own certificate', outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });

  router.post('/certificates/peer', kit.requirePermission('certificates.write'), async (ctx) => {
    const body = parseBody(
      z.object({ state: memberStateSchema, usage: z.enum(['signing', 'encryption']), pem: pemSchema }).strict(),
      await kit.readJson(ctx, CERT_BODY_LIMIT + 1024),
    );
    try {
      const imported = await callDependency('provisioning', () => deps.provisioning.importPeerCertificate(body.state, body.usage, body.pem));
      const certificate = imported.certificate;
      await kit.audit(ctx, { action: 'certificate.peer.import', target: describe(certificate), outcome: 'success', ...(imported.warnings.length ? { detail: imported.warnings.join('; ') } : {}) });
      // The peer directory reads certificates from the files the configuration names.
      const current = deps.config.current().peers.find((p) => p.code === body.state)?.certificates[body.usage];
      let revision: RevisionDetail | null = null;
      if (current !== imported.path) {
        revision = await changeConfig(ctx, kit, internals, {
          action: 'config.peer.certificate',
          target: `peer ${body.state} ${body.usage} certificate file`,
          mutate: (c) => {
            const exists = c.peers.some((p) => p.code === body.state);
            const peers = exists ? c.peers : [...c.peers, { code: body.state, channels: {}, certificates: {}, crypto: { allowLegacy: false, keyTransport: 'rsa-pkcs1' as const, digest: 'sha256' as const } }];
            return { ...c, peers: peers.map((p) => (p.code === body.state ? { ...p, certificates: { ...p.certificates, [body.usage]: imported.path } } : p)) };
          },
        });
      }
      ctx.status = 201;
      ctx.body = { certificate, warnings: imported.warnings, revision };
    } catch (e) {
      await kit.audit(ctx, { action: 'certificate.peer.import', target: `peer ${body.state} ${body.usage} certificate`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });
};
