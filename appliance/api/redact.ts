/**
 * Redaction for the support bundle: it leaves the box, so no secret and no personal data.
 * Structured data: keys that name a secret or a person lose their values. Text (log lines):
 * PEM private keys, PKCS#11 URIs with a PIN, passwords/PINs in key=value form, e-mail addresses
 * of people (the NCP's functional mailboxes on *.eu-admin.net stay: support needs them), and
 * the identifiers Art. 30 logs carry (officer, reference, profile ids).
 */
const SECRET_KEYS = /(pin|password|passphrase|secret|private|cookie|csrf|session|authorization|apikey|credential)/i;
const PERSONAL_KEYS = /^(officer|officers|officerid|orderingofficer|reference|profile|profileid|profile_ident|name|displayname|username|actor|reason|holder|owner|vin|plate)$/i;

export const REDACTED = '[redacted]';

export function redactValue(value: unknown, key = ''): unknown {
  if (key && SECRET_KEYS.test(key)) return REDACTED;
  if (key && PERSONAL_KEYS.test(key)) return value === null ? null : REDACTED;
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactValue(v, k)]));
  return value;
}

const SECRET_WORDS = 'pin|so-?pin|password|passwd|passphrase|secret|session_?token|auth_?token|access_?token|cookie|csrf';
const PERSONAL_WORDS = 'officer(?:Id)?|orderingOfficer|reference|ref|profile(?:_ident|Id)?|match_id|reason';

export function redactText(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted private key]')
    .replace(/(pin-value|pin-source)=[^;&\s"']*/gi, '$1=[redacted]')
    // Quoted values first (JSON in logs), whole, spaces included; then bare key=value words.
    .replace(new RegExp(`("(?:${SECRET_WORDS}|${PERSONAL_WORDS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`)
    .replace(new RegExp(`\\b(${SECRET_WORDS}|${PERSONAL_WORDS})(\\s*[:=]\\s*)(?!"\\[redacted\\]")[^\\s"',;}&]+`, 'gi'), `$1$2${REDACTED}`)
    .replace(/\b[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b/g, (email) => (/\.eu-admin\.net$/i.test(email) ? email : '[redacted e-mail]'));
}
