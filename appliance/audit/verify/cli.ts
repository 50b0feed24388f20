import { verifyBundle } from './bundle.js';
import { HEX64_RE } from './format.js';
import { formatReport } from './report.js';

const USAGE = `usage: node verify-audit.mjs <bundle-dir> [--trust-anchor-sha256 <hex>]... [--previous <older-bundle-dir>] [--json]

Checks an audit export bundle of the Prüm gateway offline: digests, the CMS signature over
SHA256SUMS, the certificate chain, the signed checkpoints and their chain across periods,
inclusion proofs for every entry, consistency with the previous export, deletion records.
Exit status: 0 valid, 1 invalid, 2 usage error.
`;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** The command line: arguments after the script name; resolves to the exit status. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let dir: string | undefined;
  let json = false;
  let previous: string | undefined;
  const anchors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = argv[i + 1];
    if (a === '--help' || a === '-h') {
      io.stdout.write(USAGE);
      return 0;
    } else if (a === '--json') json = true;
    else if (a === '--previous' && value !== undefined) {
      previous = value;
      i++;
    } else if (a === '--trust-anchor-sha256' && value !== undefined) {
      i++;
      const v = value.replace(/:/g, '').toLowerCase();
      if (!HEX64_RE.test(v)) {
        io.stderr.write('--trust-anchor-sha256 needs 64 hex digits (colons allowed)\n');
        return 2;
      }
      anchors.push(v);
    } else if (!a.startsWith('--') && dir === undefined) dir = a;
    else {
      io.stderr.write(USAGE);
      return 2;
    }
  }
  if (dir === undefined) {
    io.stderr.write(USAGE);
    return 2;
  }
  const report = await verifyBundle(dir, { trustAnchorSha256: anchors, ...(previous !== undefined ? { previous } : {}) });
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(formatReport(dir, report));
  return report.ok ? 0 : 1;
}
