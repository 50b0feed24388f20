#!/usr/bin/env node
// The `pruem` command. Runs the compiled gateway (make build); the TypeScript sources are in appliance/.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/appliance/cli/pruem.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('pruem: not built yet — run `make build` (or `make run`) first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
