import { fileURLToPath } from 'node:url';

/**
 * How to start another `pruem` process (the demo's peer gateways, the integration tests): the
 * compiled CLI under dist/, or the TypeScript source through tsx when we run from the sources.
 */
export function pruemCommand(): { command: string; args: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./pruem.ts', here))] };
  }
  return { command: process.execPath, args: [fileURLToPath(new URL('./pruem.js', here))] };
}
