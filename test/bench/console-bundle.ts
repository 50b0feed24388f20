/**
 * Production console bundle size (issue 6: JavaScript ≤ 60 KB gzipped). Builds it with
 * console/build.mjs, then a baseline in the same run: a Preact + hooks "hello" bundled with the
 * same esbuild settings, i.e. what the framework alone costs.
 *   node --import tsx test/bench/console-bundle.ts
 */
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { run } from '../../appliance/util/exec.js';

const BUDGET_GZIP = 60 * 1024;
const root = fileURLToPath(new URL('../../', import.meta.url));

const started = performance.now();
const r = await run(process.execPath, [join(root, 'console/build.mjs'), '--quiet']);
if (r.code !== 0) throw new Error(`console build failed: ${r.stderr}`);
const buildMs = performance.now() - started;

const js = readFileSync(join(root, 'dist/console/app.js'));
const css = readFileSync(join(root, 'dist/console/app.css'));
const html = readFileSync(join(root, 'dist/console/index.html'));
const gz = (b: Buffer) => gzipSync(b, { level: 9 }).length;
const br = (b: Buffer) => brotliCompressSync(b).length;

const dir = mkdtempSync(join(tmpdir(), 'pruem-bundle-baseline-'));
try {
  writeFileSync(
    join(dir, 'hello.tsx'),
    "import { render } from 'preact';\nimport { useState } from 'preact/hooks';\nfunction App() { const [n, set] = useState(0); return <button onClick={() => set(n + 1)}>{n}</button>; }\nrender(<App />, document.body);\n",
  );
  const out = await build({
    entryPoints: [join(dir, 'hello.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    write: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    nodePaths: [join(root, 'node_modules')],
    charset: 'utf8',
    legalComments: 'none',
  });
  const baseline = Buffer.from(out.outputFiles[0]?.contents ?? new Uint8Array());
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`console bundle (built in ${buildMs.toFixed(0)} ms, node ${process.version})`);
  console.log(`  app.js      ${kb(js.length).padStart(9)} raw  ${kb(gz(js)).padStart(8)} gzip  ${kb(br(js)).padStart(8)} brotli   budget ${kb(BUDGET_GZIP)} gzip`);
  console.log(`  app.css     ${kb(css.length).padStart(9)} raw  ${kb(gz(css)).padStart(8)} gzip`);
  console.log(`  index.html  ${kb(html.length).padStart(9)} raw`);
  console.log(`  baseline: Preact + hooks hello, same settings: ${kb(baseline.length)} raw, ${kb(gz(baseline))} gzip`);
  console.log(`  console code, translations and pages above the framework: ${kb(gz(js) - gz(baseline))} gzip`);
  if (gz(js) > BUDGET_GZIP) {
    console.error(`OVER BUDGET: ${gz(js)} > ${BUDGET_GZIP} bytes gzip`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
