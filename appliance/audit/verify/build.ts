import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Bundles the verifier (verify-audit.mts and the modules it imports, audit/merkle.ts included)
 * into the one dependency-free file auditors receive. `make build` runs this; so does
 * verifierFile() when the appliance runs from its TypeScript sources and the file is stale.
 *
 *     node --import tsx appliance/audit/verify/build.ts <out.mjs>
 */
const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'verify-audit.mts');

/** The entry's leading doc comment, so the built file opens with the same explanation. */
function header(): string {
  const text = readFileSync(ENTRY, 'utf8');
  const doc = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? '';
  return `#!/usr/bin/env node\n// Built from appliance/audit/verify-audit.mts and appliance/audit/verify/*.ts by \`make build\`; do not edit.\n${doc}`;
}

export async function buildVerifier(outfile: string): Promise<{ bytes: number }> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    write: false,
    outfile,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: header() },
    metafile: true,
    logLevel: 'warning',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output');
  // Dependency-free: whatever the bundle still imports must be Node's standard library.
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  const foreign = imports.filter((p) => !p.startsWith('node:'));
  if (foreign.length > 0) throw new Error(`the verifier would import ${foreign.join(', ')}; it must need nothing but Node.js`);
  mkdirSync(dirname(outfile), { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  writeFileSync(tmp, out.contents, { mode: 0o644 });
  renameSync(tmp, outfile);
  return { bytes: out.contents.length };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2];
  if (target === undefined) {
    process.stderr.write('usage: node --import tsx appliance/audit/verify/build.ts <out.mjs>\n');
    process.exitCode = 2;
  } else {
    const { bytes } = await buildVerifier(target);
    process.stdout.write(`verify-audit.mjs: ${bytes} B → ${target}\n`);
  }
}
