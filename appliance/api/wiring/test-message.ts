import type { GatewayConfig } from '../../config/config.js';
import type { MailChannel, MemberStateCode } from '../../peers/member-states.js';
import type { PeerLinkStatus } from '../../status/types.js';
import { createSmtpSender } from '../../transport/mail/sender.js';
import type { TestMessageResult, TestMessageTarget } from '../wire.js';

export interface TestMessageWiring {
  readonly config: () => GatewayConfig;
  /** Queues a link-test message (PING) to a peer through the exchange pipeline; returns its message id. */
  readonly ping?: (peer: MemberStateCode, channel: MailChannel) => Promise<string>;
  /** The link row of the status API, to see the test message's fate. */
  readonly link?: (peer: MemberStateCode, channel: MailChannel) => PeerLinkStatus | undefined;
  /** How long to wait for the relay's answer to a peer test before reporting "still queued". */
  readonly waitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The first-run wizard's live test and the operations page's test message. To the relay: an SMTP
 * session (EHLO, and STARTTLS when required) against the configured relay. To a peer: a real
 * signed and encrypted PING through the pipeline, reported as delivered once the relay accepted it.
 */
export function testMessageSender(w: TestMessageWiring): (target: TestMessageTarget) => Promise<TestMessageResult> {
  return async (target) => {
    const started = Date.now();
    const config = w.config();
    if (target.kind === 'relay') {
      if (!config.relay) return { ok: false, detail: 'no TESTA relay is configured', elapsedMs: 0, messageId: null };
      const sender = createSmtpSender({
        host: config.relay.host,
        port: config.relay.port,
        requireTls: config.relay.requireTls,
        heloName: `dna.pruem.${config.memberState.toLowerCase()}.eu-admin.net`,
        timeoutMs: 10_000,
        pool: false,
      });
      try {
        const check = await sender.verify();
        return { ok: check.state === 'up', detail: check.detail, elapsedMs: Date.now() - started, messageId: null };
      } finally {
        sender.close();
      }
    }
    if (target.channel === 'vrd') return { ok: false, detail: 'the vehicle channel has no mail link to test', elapsedMs: 0, messageId: null };
    if (!w.ping) return { ok: false, detail: 'link tests are not available in this composition', elapsedMs: 0, messageId: null };
    const channel: MailChannel = target.channel;
    const messageId = await w.ping(target.state, channel);
    const deadline = started + (w.waitMs ?? 10_000);
    while (Date.now() < deadline) {
      const link = w.link?.(target.state, channel);
      if (link?.lastSuccess && Date.parse(link.lastSuccess) >= started - 1000) {
        return { ok: true, detail: `${messageId} accepted by the relay for ${target.state}`, elapsedMs: Date.now() - started, messageId };
      }
      if (link?.lastError && Date.parse(link.lastError.at) >= started - 1000) {
        return { ok: false, detail: `${messageId}: ${link.lastError.reason}`, elapsedMs: Date.now() - started, messageId };
      }
      await sleep(200);
    }
    return { ok: false, detail: `${messageId} is still queued (no answer from the relay yet)`, elapsedMs: Date.now() - started, messageId };
  };
}
