/**
 * The PRUEMDNA reader against mutated documents (seeded): whatever the bytes, it returns a result —
 * never throws — and a refusal carries one of the reader's codes with a bounded message; a document
 * that is still accepted gives the same answer when read again. The libxml2 documents it creates in
 * WebAssembly memory are all disposed (libxml2-wasm's own tracker counts them), so a stream of hostile
 * requests cannot make the daemon's memory grow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag } from 'libxml2-wasm';
import { parsePruemDna, writePruemDna } from '../../appliance/dna/codec.js';
import { request } from './xml-helpers.js';
import { rng } from './random.js';

const READER_CODES = new Set([
  'TOO_LARGE',
  'NOT_UTF8',
  'DOCTYPE_FORBIDDEN',
  'NOT_WELL_FORMED',
  'SCHEMA_INVALID',
  'DIRECTION_RESULT_MISMATCH',
  'ART3_SINGLE_PROFILE',
  'UNKNOWN_MEMBER_STATE',
  'DUPLICATE_PROFILE_IDENT',
  'MISSING_PROFILE',
]);

const SNIPPETS = ['<', '>', '&', '&amp;', '&#0;', '&#x110000;', ']]>', '<![CDATA[', '<?xml version="1.0"?>', '<!--', '\u0000', '\uFFFE', '\u00e9', '"', "'", '</datas>', '<datas>', 'xmlns="urn:x"', '\r\n'];

function mutate(doc: Buffer, random: () => number): Buffer {
  const at = Math.floor(random() * doc.length);
  const kind = Math.floor(random() * 6);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  switch (kind) {
    case 0: {
      const out = Buffer.from(doc);
      out[at] = Math.floor(random() * 256);
      return out;
    }
    case 1:
      return Buffer.concat([doc.subarray(0, at), doc.subarray(Math.min(doc.length, at + 1 + Math.floor(random() * 40)))]);
    case 2:
      return Buffer.concat([doc.subarray(0, at), Buffer.from(pick(SNIPPETS)), doc.subarray(at)]);
    case 3:
      return doc.subarray(0, at);
    case 4: {
      const len = Math.floor(random() * 200);
      return Buffer.concat([doc.subarray(0, at), doc.subarray(at, at + len), doc.subarray(at)]);
    }
    default: {
      // Two mutations on top of each other.
      return mutate(mutate(doc, random), random);
    }
  }
}

test('2,000 mutated PRUEMDNA documents: a result every time, known codes, bounded messages, no libxml2 document left behind', () => {
  const bases = [writePruemDna(request(1, 3)), writePruemDna(request(3, 4))].map((x) => Buffer.from(x));
  assert.ok(parsePruemDna(bases[0]!).ok, 'the schema is compiled and the unmutated document reads');
  diag.configure({ enabled: true });
  try {
    const random = rng(20261123);
    const seen = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const input = mutate(bases[i % bases.length]!, random);
      const r = parsePruemDna(input);
      const key = r.ok ? 'accepted' : r.error.code;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (r.ok) {
        assert.deepEqual(parsePruemDna(input), r, 'an accepted document reads the same again');
      } else {
        assert.ok(READER_CODES.has(r.error.code), `unexpected code ${r.error.code}: ${r.error.message}`);
        assert.ok(r.error.message.length > 0 && r.error.message.length <= 4000);
      }
    }
    // The mutations reached the parser's different refusals, not only one of them.
    for (const code of ['NOT_WELL_FORMED', 'SCHEMA_INVALID']) assert.ok((seen.get(code) ?? 0) > 50, `${code}: ${JSON.stringify([...seen])}`);
    const report = diag.report() as Record<string, { instances: unknown[] }>;
    const leftBehind = Object.entries(report).filter(([, r]) => r.instances.length > 0);
    assert.deepEqual(leftBehind, [], 'every libxml2 document was disposed');
  } finally {
    diag.configure({ enabled: false });
  }
});
