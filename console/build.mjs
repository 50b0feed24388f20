// Bundles the console (Preact + hooks) with esbuild into dist/console: index.html, app.js, app.css.
// Everything the page loads comes from this folder (the API's CSP forbids anything else).
// Usage: node console/build.mjs [--quiet]
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const out = new URL('../dist/console/', import.meta.url).pathname;
const entry = new URL('./src/main.tsx', import.meta.url).pathname;
const quiet = process.argv.includes('--quiet');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const started = performance.now();
await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outfile: out + 'app.js',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  charset: 'utf8',
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const ms = performance.now() - started;

writeFileSync(
  out + 'index.html',
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Prüm gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<div id="app"></div>
</body>
</html>
`,
);

export function sizes() {
  const js = readFileSync(out + 'app.js');
  const css = readFileSync(out + 'app.css');
  return { js: js.length, jsGzip: gzipSync(js, { level: 9 }).length, css: css.length, cssGzip: gzipSync(css, { level: 9 }).length };
}

if (!quiet) {
  const s = sizes();
  console.log(`console bundle in ${ms.toFixed(0)} ms: app.js ${s.js} B (${s.jsGzip} B gzip), app.css ${s.css} B (${s.cssGzip} B gzip) → ${out}`);
}
