import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildVerifier } from '../../appliance/audit/verify/build.js';
import { verifierFile } from '../../appliance/audit/verify/artifact.js';
import { VERIFY_ERROR_CODES } from '../../appliance/audit/verify-audit.mjs';
import { run } from '../../appliance/util/exec.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('verifier-build-');
after(() => tmp.cleanup());

/** Module specifiers a bundle still imports (static `import … from "x"`). */
function importsOf(code: string): string[] {
  return [...code.matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1] as string);
}

test('the verifier is bundled from the TypeScript modules into one file that needs only Node', async () => {
  const out = join(tmp.path, 'built', 'verify-audit.mjs');
  await buildVerifier(out);
  const code = readFileSync(out, 'utf8');
  assert.ok(code.startsWith('#!/usr/bin/env node\n'));
  const imports = importsOf(code);
  assert.ok(imports.length > 0);
  assert.deepEqual(imports.filter((s) => !s.startsWith('node:')), [], 'only the standard library');
  // The Merkle hashing rules come from the daemon's own audit/merkle.ts, not a second copy.
  assert.match(code, /\/\/ appliance\/audit\/merkle\.ts\n/);

  // Run it with plain node where no node_modules can be found (a temp dir), as an auditor would.
  const alone = join(tmp.path, 'auditor');
  mkdirSync(join(alone, 'empty-bundle'), { recursive: true });
  const help = await run(process.execPath, [out, '--help'], { cwd: alone });
  assert.equal(help.code, 0);
  assert.match(help.stdout.toString("utf8"), /^usage: node verify-audit\.mjs/);
  const usage = await run(process.execPath, [out], { cwd: alone });
  assert.equal(usage.code, 2);
  const empty = await run(process.execPath, [out, 'empty-bundle', '--json'], { cwd: alone });
  assert.equal(empty.code, 1);
  const report = JSON.parse(empty.stdout.toString("utf8")) as { ok: boolean; errors: { code: string }[] };
  assert.equal(report.ok, false);
  assert.ok(report.errors.length > 0 && report.errors.every((e) => (VERIFY_ERROR_CODES as readonly string[]).includes(e.code)));
  assert.deepEqual([...new Set(report.errors.map((e) => e.code))], ['BUNDLE_FILE_MISSING']);
});

test('the file an export carries is the bundle, not an unbundled compiler output', async () => {
  const file = await verifierFile();
  const code = readFileSync(file, 'utf8');
  assert.deepEqual(importsOf(code).filter((s) => !s.startsWith('node:')), []);
});
