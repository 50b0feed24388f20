import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the built verifier is: the file every export bundle carries. In the installed appliance
 * (dist/) it sits beside audit/export.js. Run from the TypeScript sources (tests, development) it
 * is dist/'s copy, rebuilt first when a verifier source is newer, so a bundle never carries a
 * verifier older than the code under test.
 */
const HERE = dirname(fileURLToPath(import.meta.url));

export async function verifierFile(): Promise<string> {
  if (!new URL(import.meta.url).pathname.endsWith('.ts')) return join(HERE, '..', 'verify-audit.mjs');
  const out = join(HERE, '..', '..', '..', 'dist', 'appliance', 'audit', 'verify-audit.mjs');
  const sources = [
    join(HERE, '..', 'verify-audit.mts'),
    join(HERE, '..', 'merkle.ts'),
    ...readdirSync(HERE)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(HERE, f)),
  ];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (!existsSync(out) || statSync(out).mtimeMs < newest || !isBundle(out)) {
    const { buildVerifier } = await import('./build.js');
    await buildVerifier(out);
  }
  return out;
}

/** tsc also emits a verify-audit.mjs (unbundled, importing ./verify/); only esbuild's output will do. */
function isBundle(file: string): boolean {
  return !/from ["']\.\/verify\//.test(readFileSync(file, 'utf8'));
}
