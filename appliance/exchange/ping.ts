import { randomUUID } from 'node:crypto';
import type { ChannelHandler, HandlerOutcome, InboundMessage, Reply } from './handler.js';
import type { MailChannel, MemberStateCode } from '../peers/member-states.js';

/**
 * The link test: a technician (first-run wizard, `pruem ping`) sends a ping over a channel and the
 * peer's gateway answers pong through the full S/MIME path. Carries no personal data.
 */
export const PING_CONTENT_TYPE = 'application/x-pruem-ping';

/** A new link test from us, with a token its pong will echo. */
export function pingRequest(ourState: MemberStateCode): Reply {
  return { payload: Buffer.from(`PING ${randomUUID()}`), payloadContentType: PING_CONTENT_TYPE, subject: `${ourState}/PING` };
}

export function pingHandler(channel: MailChannel): ChannelHandler {
  return {
    channel,
    accepts: (contentType) => contentType.split(';')[0]?.trim().toLowerCase() === PING_CONTENT_TYPE,
    handle(message: InboundMessage): HandlerOutcome {
      const text = message.payload.toString('utf8');
      const ping = /^PING (\S{1,100})$/.exec(text.trim());
      if (!ping) {
        // A pong (or anything else) ends here: nothing to answer.
        return { replies: [], summary: text.startsWith('PONG ') ? `pong ${text.slice(5, 105)}` : 'unrecognised link test', records: [] };
      }
      return {
        replies: [{ payload: Buffer.from(`PONG ${ping[1]}`), payloadContentType: PING_CONTENT_TYPE, subject: `${message.sender}/PING` }],
        summary: `ping ${ping[1]}`,
        records: [],
      };
    },
  };
}
