/**
 * codec.ts shares xmldom's grammar RegExps between end tags (memoiseXmldomGrammar): parsing must give the
 * same documents and the same refusals as xmldom does on its own, for our examples and for broken input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { XMLSerializer } from '@xmldom/xmldom';

type Reg = (...parts: Array<string | RegExp>) => RegExp;
const grammar = createRequire(import.meta.url)('@xmldom/xmldom/lib/grammar.js') as { reg: Reg & { memoised?: true } };
// Taken before codec.ts is loaded (imported below, dynamically): xmldom's own reg().
const original = grammar.reg;

const examples = fileURLToPath(new URL('../../docs/vehicles/examples/', import.meta.url));
const texts = readdirSync(examples)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(`${examples}${f}`, 'utf8'));
const broken = [
  '<a><b></c></a>',
  '<a></a b>',
  '<a></a\nx>',
  '<a></ a>',
  '<a></a >',
  '<a:b xmlns:a="urn:x"></a:b>',
  '<a:b xmlns:a="urn:x"></a:c>',
  '<é>text</é>',
  '<a></1a>',
  '<a><?pi data?></a>',
  '<a>&unknown;</a>',
  '<a',
  '',
];

test('parsing with the shared grammar RegExps gives what xmldom gives alone', async () => {
  assert.equal(original.memoised, undefined, 'this test must see xmldom before codec.ts changes it');
  const { parseXml, memoiseXmldomGrammar } = await import('../../appliance/vehicle/codec.js');
  assert.equal(grammar.reg.memoised, true, 'codec.ts installed the shared RegExps');
  assert.equal(memoiseXmldomGrammar(), true, 'installing twice is harmless');
  const memoised = grammar.reg;
  const parseWith = (reg: Reg, text: string) => {
    grammar.reg = reg;
    try {
      const r = parseXml(text);
      return r.ok ? `ok ${new XMLSerializer().serializeToString(r.value as unknown as Parameters<XMLSerializer["serializeToString"]>[0])}` : `error ${r.error.code} ${r.error.message}`;
    } finally {
      grammar.reg = memoised;
    }
  };
  for (const text of [...texts, ...broken]) {
    // Twice with the shared ones: the second parse reuses what the first compiled.
    const alone = parseWith(original, text);
    assert.equal(parseWith(memoised, text), alone, text.slice(0, 60));
    assert.equal(parseWith(memoised, text), alone, text.slice(0, 60));
  }
  assert.ok(texts.length >= 8);
  assert.match(parseWith(memoised, '<a></a b>'), /^error/);
  assert.equal(memoised('^', 'x') === memoised('^', 'x'), true, 'the same parts give the same RegExp');
});
