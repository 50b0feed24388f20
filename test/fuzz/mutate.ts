/**
 * Seeded mutations for the fuzz campaigns: input i of a campaign is a pure function of (seed, i),
 * so any input a run reports can be made again (`--seed S --only I`). Generic byte mutations, plus
 * ones that know the shape of the input: DER lengths (CMS), tags and entities (XML, MIME), JSON
 * structure (configuration), ANSI/NIST records and fields (nist-input.ts). Every result is bounded in size (MAX_INPUT_BYTES).
 */
import { nistMutation } from './nist-input.js';

export type SeedKind = 'bytes' | 'der' | 'text' | 'json' | 'nist';

/** Inputs never grow beyond this: the campaigns look for crashes and blow-ups, not for big inputs. */
export const MAX_INPUT_BYTES = 1 << 20;

/** splitmix32-style generator. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

/** The generator for input `index` of the campaign `name` with master seed `seed`. */
export function inputRng(seed: number, name: string, index: number): Rng {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng((h ^ Math.imul(index + 1, 0x27d4eb2d)) >>> 0);
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, 0x30, 0x31, 0xa0, 0x04, 0x06, 0x0a, 0x0d, 0x3c, 0x3e, 0x26, 0x3d, 0x22];

function bytesMutation(rng: Rng, b: Buffer, others: readonly Buffer[]): Buffer {
  const n = b.length;
  const at = rng.below(Math.max(n, 1));
  switch (rng.below(9)) {
    case 0: {
      const c = Buffer.from(b);
      if (n) c[at] = (c[at] as number) ^ (1 << rng.below(8));
      return c;
    }
    case 1: {
      const c = Buffer.from(b);
      if (n) c[at] = rng.pick(INTERESTING);
      return c;
    }
    case 2:
      return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.below(16) }, () => rng.below(256))), b.subarray(at)]);
    case 3:
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + 1 + rng.below(64)))]);
    case 4: {
      const len = 1 + rng.below(Math.min(256, Math.max(1, n - at)));
      return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    }
    case 5:
      return b.subarray(0, at);
    case 6: {
      const other = rng.pick(others);
      const from = rng.below(Math.max(other.length, 1));
      return Buffer.concat([b.subarray(0, at), other.subarray(from, from + 1 + rng.below(512)), b.subarray(at + rng.below(64))]);
    }
    case 7: {
      const c = Buffer.from(b);
      const span = Math.min(n - at, 1 + rng.below(32));
      for (let i = 0; i < span; i++) c[at + i] = rng.below(256);
      return c;
    }
    default: {
      // Repeat a slice many times: quadratic loops and unbounded buffers show up here.
      const len = 1 + rng.below(Math.min(64, Math.max(1, n - at)));
      const times = 2 + (rng.chance(0.1) ? rng.below(2000) : rng.below(64));
      const slice = b.subarray(at, at + len);
      return Buffer.concat([b.subarray(0, at), ...Array.from({ length: times }, () => slice), b.subarray(at)]);
    }
  }
}

/** Positions of TLV headers in a DER/BER buffer (walked leniently: a broken length stops the walk). */
function tlvHeaders(b: Buffer): Array<{ at: number; lenAt: number; lenBytes: number }> {
  const out: Array<{ at: number; lenAt: number; lenBytes: number }> = [];
  const walk = (start: number, end: number, depth: number) => {
    let p = start;
    while (p + 2 <= end && out.length < 4096 && depth < 40) {
      const tag = b[p] as number;
      const first = b[p + 1] as number;
      let len = first;
      let lenBytes = 1;
      if (first === 0x80) return; // indefinite: stop here
      if (first & 0x80) {
        const k = first & 0x7f;
        if (k > 4 || p + 2 + k > end) return;
        len = 0;
        for (let i = 0; i < k; i++) len = len * 256 + (b[p + 2 + i] as number);
        lenBytes = 1 + k;
      }
      const body = p + 1 + lenBytes;
      if (body + len > end) return;
      out.push({ at: p, lenAt: p + 1, lenBytes });
      if (tag & 0x20) walk(body, body + len, depth + 1);
      p = body + len;
    }
  };
  walk(0, b.length, 0);
  return out;
}

function derMutation(rng: Rng, b: Buffer, others: readonly Buffer[]): Buffer {
  const heads = tlvHeaders(b);
  if (heads.length === 0 || rng.chance(0.3)) return bytesMutation(rng, b, others);
  const h = rng.pick(heads);
  switch (rng.below(6)) {
    case 0: {
      // Length off by a little, or pointing far away.
      const c = Buffer.from(b);
      const i = h.lenAt + h.lenBytes - 1;
      c[i] = ((c[i] as number) + rng.pick([1, -1, 2, -2, 0x40, 0x7f])) & 0xff;
      return c;
    }
    case 1: {
      // A huge length (long form, 4 bytes).
      const huge = Buffer.from([0x84, 0x7f, 0xff, 0xff, rng.below(256)]);
      return Buffer.concat([b.subarray(0, h.lenAt), huge, b.subarray(h.lenAt + h.lenBytes)]);
    }
    case 2:
      // Indefinite length where DER has a definite one.
      return Buffer.concat([b.subarray(0, h.lenAt), Buffer.from([0x80]), b.subarray(h.lenAt + h.lenBytes), Buffer.from([0, 0])]);
    case 3: {
      // Another tag (class, constructed bit, number).
      const c = Buffer.from(b);
      c[h.at] = rng.pick([0x30, 0x31, 0xa0, 0xa1, 0x80, 0x04, 0x24, 0x02, 0x06, 0x05, 0x1f, 0x17, 0x0c]);
      return c;
    }
    case 4: {
      // Nest the element in itself many times (deep recursion).
      let out = b.subarray(h.at, Math.min(b.length, h.at + 64));
      for (let i = 0, n = rng.chance(0.1) ? 50 + rng.below(3000) : 2 + rng.below(100); i < n && out.length < 60000; i++) {
        out = Buffer.concat([Buffer.from([0x30, 0x80]), out, Buffer.from([0, 0])]);
      }
      return Buffer.concat([b.subarray(0, h.at), out, b.subarray(h.at)]);
    }
    default:
      return bytesMutation(rng, b, others);
  }
}

const TEXT_SNIPPETS = [
  '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
  '&b;', '&#0;', '&#x110000;', '<![CDATA[', ']]>', '<?xml version="1.0" encoding="UTF-16"?>', '\uFEFF', '\u0000',
  '<a xmlns="urn:x">', '</PRUEMDNA>', '<datas>', '</datas>', '<result>H</result>', '<quality>9</quality>', '<reqtype>7</reqtype>',
  'Content-Type: multipart/signed; boundary="', 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n', 'Content-Transfer-Encoding: base64\r\n', '=?UTF-8?B?', '?=', '=\r\n', '=ZZ',
  '\r\n\r\n', '\r\n', '\n', '--', '"', '\\', ';', 'boundary=', ' ', '\t', '\u00e9', '\ud800', 'A'.repeat(1000),
];

function textMutation(rng: Rng, b: Buffer, others: readonly Buffer[]): Buffer {
  if (rng.chance(0.4)) return bytesMutation(rng, b, others);
  const text = b.toString('latin1');
  const at = rng.below(text.length + 1);
  switch (rng.below(5)) {
    case 0:
      return Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(TEXT_SNIPPETS), 'utf8'), b.subarray(at)]);
    case 1: {
      // Duplicate an element or a header line.
      const open = text.indexOf('<', at);
      const close = open >= 0 ? text.indexOf('>', text.indexOf('</', open)) : -1;
      if (open < 0 || close < 0) return bytesMutation(rng, b, others);
      const el = b.subarray(open, close + 1);
      const times = 1 + (rng.chance(0.1) ? rng.below(600) : rng.below(20));
      return Buffer.concat([b.subarray(0, open), ...Array.from({ length: times }, () => el), b.subarray(open)]);
    }
    case 2: {
      // Deep nesting.
      const depth = rng.chance(0.1) ? 10 + rng.below(5000) : 2 + rng.below(100);
      return Buffer.concat([b.subarray(0, at), Buffer.from('<x>'.repeat(depth) + '</x>'.repeat(rng.chance(0.5) ? depth : 0)), b.subarray(at)]);
    }
    case 3: {
      // Swap a line for another line of the input.
      const lines = text.split('\n');
      const i = rng.below(lines.length);
      lines[i] = lines[rng.below(lines.length)] ?? '';
      return Buffer.from(lines.join('\n'), 'latin1');
    }
    default: {
      // Replace a run of digits or letters with a long or odd one.
      const m = /[0-9A-Za-z]+/g;
      m.lastIndex = at;
      const hit = m.exec(text);
      if (!hit) return bytesMutation(rng, b, others);
      const repl = rng.pick(['', '0', '-1', '99999999999999999999', 'x'.repeat(70000), '1e308', 'NaN', '\u0000', 'base64', 'BASE64', '7bit']);
      return Buffer.from(text.slice(0, hit.index) + repl + text.slice(hit.index + hit[0].length), 'latin1');
    }
  }
}

const JSON_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 65536, 1e308, -0, '', 'x'.repeat(5000), '../../etc/passwd', '0.0.0.0', [], {}, [null], { file: '/dev/zero' }, { value: '' }, { env: 'PATH' }];

function mutateValue(rng: Rng, v: unknown, depth: number): unknown {
  if (depth > 30 || rng.chance(0.15)) return rng.pick(JSON_VALUES);
  if (Array.isArray(v)) {
    const c = v.map((x) => (rng.chance(0.3) ? mutateValue(rng, x, depth + 1) : x));
    if (rng.chance(0.2)) c.push(mutateValue(rng, c[0] ?? null, depth + 1));
    if (rng.chance(0.1) && c.length) c.splice(rng.below(c.length), 1);
    return c;
  }
  if (typeof v === 'object' && v !== null) {
    const c: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(c);
    for (const k of keys) if (rng.chance(0.25)) c[k] = mutateValue(rng, c[k], depth + 1);
    if (rng.chance(0.1) && keys.length) delete c[rng.pick(keys)];
    if (rng.chance(0.05)) c[rng.pick(['__proto__', 'constructor', 'unknownKey', keys[0] ?? 'x'])] = rng.pick(JSON_VALUES);
    return c;
  }
  return rng.pick(JSON_VALUES);
}

function jsonMutation(rng: Rng, b: Buffer, others: readonly Buffer[]): Buffer {
  if (rng.chance(0.35)) return textMutation(rng, b, others);
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8'));
  } catch {
    return textMutation(rng, b, others);
  }
  if (rng.chance(0.1)) {
    let deep: unknown = parsed;
    for (let i = 0, n = 100 + rng.below(3000); i < n; i++) deep = rng.chance(0.5) ? [deep] : { peers: deep };
    parsed = deep;
  } else parsed = mutateValue(rng, parsed, 0);
  return Buffer.from(JSON.stringify(parsed) ?? 'null', 'utf8');
}

const BY_KIND: Record<SeedKind, (rng: Rng, b: Buffer, others: readonly Buffer[]) => Buffer> = {
  bytes: bytesMutation,
  der: derMutation,
  text: textMutation,
  json: jsonMutation,
  nist: nistMutation,
};

/** 1–4 stacked mutations of a seed chosen by `rng`; bounded by MAX_INPUT_BYTES. */
export function mutate(rng: Rng, seeds: readonly Buffer[], kind: SeedKind): Buffer {
  let b = rng.pick(seeds);
  const rounds = 1 + rng.below(4);
  for (let i = 0; i < rounds; i++) {
    b = BY_KIND[kind](rng, b, seeds);
    if (b.length > MAX_INPUT_BYTES) b = b.subarray(0, MAX_INPUT_BYTES);
  }
  return b;
}
