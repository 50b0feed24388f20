import { test } from 'node:test';
import assert from 'node:assert/strict';
import { en } from '../../console/src/i18n/en.js';
import { ro } from '../../console/src/i18n/ro.js';
import { API_ERRORS } from '../../appliance/api/errors.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('Romanian has every English text, with the same placeholders, and is really translated', () => {
  const keys = Object.keys(en) as Array<keyof typeof en>;
  let same = 0;
  for (const k of keys) {
    assert.ok(ro[k] && ro[k].trim().length > 0, `ro lacks ${k}`);
    assert.deepEqual(placeholders(ro[k]), placeholders(en[k]), `placeholders of ${k}`);
    if (ro[k] === en[k]) same++;
  }
  // Proper names and codes (Token, OK, TLS, CA, IPv4…) may stay; most texts must not.
  assert.ok(same < keys.length * 0.08, `${same} of ${keys.length} texts are identical in both languages`);
  assert.ok(!Object.values(ro).some((s) => /[şţŞŢ]/.test(s)), 'Romanian uses comma-below ș ț, not the cedilla forms');
});

test('every API error code has a Romanian text', () => {
  const src = readFileSync(fileURLToPath(new URL('../../console/src/i18n/index.ts', import.meta.url)), 'utf8');
  for (const code of Object.keys(API_ERRORS)) assert.match(src, new RegExp(`\\b${code}: '`), `no Romanian text for ${code}`);
});

test('every page has a help text and uses only keys that exist', () => {
  const dir = fileURLToPath(new URL('../../console/src/pages/', import.meta.url));
  for (const file of readdirSync(dir)) {
    const src = readFileSync(join(dir, file), 'utf8');
    for (const m of src.matchAll(/\bt\('([a-zA-Z0-9.-]+)'/g)) assert.ok(m[1] && m[1] in en, `${file}: unknown key ${m[1]}`);
    if (/<Page\b/.test(src)) assert.match(src, /<Page[^>]*help=\{t\('[a-z]+\.help'/, `${file}: every Page carries its help text`);
  }
});
