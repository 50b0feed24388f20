// Bundles the console (Preact) with esbuild into dist/console. Placeholder until the console lands.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { build } from 'esbuild';
const out = new URL('../dist/console/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const entry = new URL('./src/main.tsx', import.meta.url).pathname;
if (existsSync(entry)) {
  await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', target: 'es2020', outfile: out + 'app.js', jsx: 'automatic', jsxImportSource: 'preact', logLevel: 'warning' });
}
