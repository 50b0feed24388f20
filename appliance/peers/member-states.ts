/**
 * Member State codes as the Prüm Annex uses them (ch.1 §2): ISO 3166-1 alpha-2,
 * except Greece = EL and the United Kingdom = UK. Associated States that joined
 * Prüm by agreement (NO, IS, CH, LI) are listed too, so a peer directory can name them.
 */
export const MEMBER_STATES = [
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'EL', 'ES', 'FI', 'FR', 'HR', 'HU',
  'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK', 'UK',
  'NO', 'IS', 'CH', 'LI',
] as const;

export type MemberStateCode = (typeof MEMBER_STATES)[number];

export function isMemberStateCode(value: string): value is MemberStateCode {
  return (MEMBER_STATES as readonly string[]).includes(value);
}

/** Mail channels ride on SMTP/S-MIME; the vehicle channel is SOAP over HTTPS. */
export type MailChannel = 'dna' | 'fp';
export type Channel = MailChannel | 'vrd';
export const CHANNELS: readonly Channel[] = ['dna', 'fp', 'vrd'];

/** Annex ch.1 §5.7.5: dna.pruem.<cc>.eu-admin.net, fp.pruem.<cc>.eu-admin.net (lower-case cc). */
export function channelDomain(channel: MailChannel, state: MemberStateCode): string {
  return `${channel}.pruem.${state.toLowerCase()}.eu-admin.net`;
}

/** The mailbox an NCP uses on a channel; the local part is ours to choose and configurable per peer. */
export function channelAddress(channel: MailChannel, state: MemberStateCode, localPart = 'ncp'): string {
  return `${localPart}@${channelDomain(channel, state)}`;
}
