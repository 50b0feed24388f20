import { createHash } from 'node:crypto';
import { arch, hostname, platform, release, totalmem, uptime } from 'node:os';
import { redactText, redactValue } from '../redact.js';
import { tarGz, type TarFile } from './tar.js';

/** One part of the bundle; it may fail or hang, the bundle still comes out. */
export interface DiagnosticsSection {
  readonly file: string;
  readonly collect: () => unknown | Promise<unknown>;
}

/** A section that takes longer than this is written as "timed out": support wants a bundle now. */
const SECTION_TIMEOUT_MS = 5_000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Replaces a name by a stable pseudonym: support can tell "the same technician" without knowing who. */
export function pseudonym(name: string): string {
  return `user-${createHash('sha256').update(`pruem-diagnostics:${name}`).digest('hex').slice(0, 8)}`;
}

/**
 * Builds the support bundle (tar.gz). It never fails: each section is collected separately
 * with a time limit, redacted (redact.ts), and a failure becomes a line in errors.txt.
 */
export async function buildDiagnosticsBundle(sections: readonly DiagnosticsSection[], meta: { version: string; now: Date }): Promise<Buffer> {
  const files: TarFile[] = [];
  const errors: string[] = [];
  const results = await Promise.all(
    sections.map(async (s) => {
      try {
        const value = await withTimeout(Promise.resolve().then(s.collect), SECTION_TIMEOUT_MS);
        return { s, value, error: null as string | null };
      } catch (e) {
        return { s, value: undefined, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  for (const { s, value, error } of results) {
    if (error !== null) {
      errors.push(`${s.file}: ${redactText(error)}`);
      continue;
    }
    try {
      const text = typeof value === 'string' ? redactText(value) : `${JSON.stringify(redactValue(value), null, 2)}\n`;
      files.push({ name: `pruem-diagnostics/${s.file}`, content: text, mtime: meta.now });
    } catch (e) {
      errors.push(`${s.file}: cannot serialise (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const system = {
    gatewayVersion: meta.version,
    generatedAt: meta.now.toISOString(),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    hostname: hostname(),
    uptimeSeconds: Math.round(uptime()),
    processUptimeSeconds: Math.round(process.uptime()),
    totalMemoryBytes: totalmem(),
    processMemory: process.memoryUsage(),
  };
  files.unshift(
    {
      name: 'pruem-diagnostics/README.txt',
      content:
        'Prüm gateway support bundle.\n' +
        'Secrets (PINs, passwords, keys, session tokens) and personal data (officer and account names,\n' +
        'references, profiles, e-mail addresses of people) were removed before this bundle was written.\n' +
        'Account names are replaced by stable pseudonyms (user-xxxxxxxx).\n',
      mtime: meta.now,
    },
    { name: 'pruem-diagnostics/system.json', content: `${JSON.stringify(system, null, 2)}\n`, mtime: meta.now },
  );
  files.push({ name: 'pruem-diagnostics/errors.txt', content: errors.length ? `${errors.join('\n')}\n` : 'no section failed\n', mtime: meta.now });
  try {
    return tarGz(files);
  } catch (e) {
    // Last resort: a bundle with only the error, still a valid archive.
    return tarGz([{ name: 'pruem-diagnostics/errors.txt', content: `bundle failed: ${e instanceof Error ? e.message : String(e)}\n` }]);
  }
}
