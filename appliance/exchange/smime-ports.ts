import type { X509Certificate } from 'node:crypto';
import type { PeerDirectory } from '../peers/directory.js';
import type { Token } from '../token/token.js';
import type { ServiceBoard } from '../status/status.js';
import { openMessage, sealMessage } from '../transport/smime/index.js';
import { buildMailMessage, type SmtpSender } from '../transport/mail/sender.js';
import type { MailSender, MessageOpener, MessageSealer } from './pipeline.js';

/**
 * The pipeline's ports over the real transport: S/MIME opening and sealing on the token against the peer
 * directory, and the SMTP sender to the relay. The pipeline itself knows none of transport/.
 */

/** Verify-then-decrypt (transport/smime), reporting what the sender signed for replay detection. */
export function smimeOpener(deps: { directory: PeerDirectory; token: Token; maxBytes: number; clock?: () => Date }): MessageOpener {
  const clock = deps.clock ?? (() => new Date());
  return {
    async open(raw) {
      const r = await openMessage(raw, { directory: deps.directory, token: deps.token, now: clock(), maxBytes: deps.maxBytes });
      // Our token being absent or locked says nothing about the message: it waits (not counted toward dead-lettering).
      if (!r.ok) return r.error.code === 'TOKEN_UNAVAILABLE' ? { ...r, transient: true } : r;
      return {
        ok: true,
        sender: r.sender,
        payload: r.payload,
        payloadContentType: r.payloadContentType,
        subject: r.subject,
        signedDigest: r.signedDigest,
        signingTime: r.signingTime,
      };
    },
  };
}

/** Encrypt for the peer, sign on the token, wrap in an RFC 5322 mail from our channel address. */
export function smimeSealer(deps: { directory: PeerDirectory; token: Token; signerCert: X509Certificate; clock?: () => Date }): MessageSealer {
  const clock = deps.clock ?? (() => new Date());
  const { directory, token, signerCert } = deps;
  return {
    async seal({ peer, channel, reply, messageId, inReplyTo }) {
      const p = directory.get(peer);
      const rcptTo = directory.addressFor(peer, channel);
      if (!p?.encryption || !rcptTo) throw Object.assign(new Error(`peer ${peer} has no ${channel} address or encryption certificate`), { code: 'PEER_NOT_CONFIGURED' });
      const sealed = await sealMessage({
        payload: reply.payload,
        payloadContentType: reply.payloadContentType,
        recipientCert: p.encryption.x509,
        profile: p.crypto,
        token,
        signerCert,
      });
      const mailFrom = directory.ourAddress(channel);
      const raw = buildMailMessage({
        from: mailFrom,
        to: rcptTo,
        subject: reply.subject,
        messageId,
        date: clock(),
        contentType: sealed.contentType,
        body: sealed.body,
        extraHeaders: {
          'Content-Disposition': 'attachment; filename=smime.p7m',
          ...(inReplyTo ? { 'In-Reply-To': `<${inReplyTo}>` } : {}),
        },
      });
      return { raw, mailFrom, rcptTo };
    },
  };
}

/** The SMTP sender as the pipeline's port, keeping the relay's service state for the status API. */
export function relaySender(sender: SmtpSender, services: ServiceBoard): MailSender {
  return {
    concurrency: sender.concurrency,
    async send(m) {
      const r = await sender.send(m);
      services.set('relay', r.ok ? 'up' : r.code === null ? 'down' : 'up', r.ok ? r.response : r.reason);
      return r.ok ? { ok: true, response: r.response } : { ok: false, permanent: r.permanent, reason: r.reason };
    },
  };
}
