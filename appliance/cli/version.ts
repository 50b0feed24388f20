import { readFileSync } from 'node:fs';

/**
 * The product version, from package.json (the one place it is written): two folders up from
 * appliance/cli/ in the sources, three from dist/appliance/cli/ in the build.
 */
export function productVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'pruem-gateway' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level: try the next
    }
  }
  return 'unknown';
}
