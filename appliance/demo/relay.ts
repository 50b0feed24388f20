import { randomUUID } from 'node:crypto';
import { startSmtpReceiver, type SmtpReceiver } from '../transport/mail/receiver.js';
import { createSmtpSender, type SmtpSender } from '../transport/mail/sender.js';
import { channelDomain, type MemberStateCode } from '../peers/member-states.js';

/**
 * A stand-in for the TESTA central mail relay on loopback, for the demo network only (the
 * integration tests use a real Postfix). It forwards each message to the gateway that owns the
 * recipient's Prüm sub-domain *before* answering, so a stopped peer shows at once as a 451 to
 * the sender — which is what makes a link go red in the demo console.
 */
export interface DemoRelay {
  readonly port: number;
  close(): Promise<void>;
}

export async function startDemoRelay(opts: {
  host: string;
  port: number;
  routes: ReadonlyArray<{ state: MemberStateCode; host: string; port: number }>;
  maxMessageBytes: number;
}): Promise<DemoRelay> {
  const senders = new Map<string, SmtpSender>();
  for (const route of opts.routes) {
    const sender = createSmtpSender({ host: route.host, port: route.port, heloName: 'testa-relay.demo', timeoutMs: 5_000, pool: false });
    senders.set(channelDomain('dna', route.state), sender);
    senders.set(channelDomain('fp', route.state), sender);
  }
  const receiver: SmtpReceiver = await startSmtpReceiver({
    host: opts.host,
    port: opts.port,
    maxMessageBytes: opts.maxMessageBytes,
    acceptedDomains: [...senders.keys()],
    serverName: 'testa-relay.demo',
    store: async (raw, envelope) => {
      for (const rcpt of envelope.rcptTo) {
        const sender = senders.get(rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase());
        if (!sender) return { ok: false, reason: `no route to ${rcpt}`, permanent: true };
        const result = await sender.send({ from: envelope.mailFrom, to: [rcpt], raw });
        if (!result.ok) return { ok: false, reason: `next hop for ${rcpt}: ${result.reason}`, permanent: result.permanent };
      }
      return { ok: true, id: randomUUID() };
    },
  });
  return {
    port: receiver.port,
    async close() {
      await receiver.close();
      for (const s of new Set(senders.values())) s.close();
    },
  };
}
