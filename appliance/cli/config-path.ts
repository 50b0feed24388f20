import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Which configuration a `pruem` command uses when none is given. A newcomer who ran `make run`
 * has a demo network in var/demo, and `pruem status` or `pruem ping DE` must talk to that
 * gateway (RO), not silently create a second installation with the embedded defaults in var/.
 * Order: --config, then $PRUEM_CONFIG, then the installed appliance's /etc/pruem/config.json,
 * then the demo's var/demo/RO/config.json (under the working folder, where `make run` puts it),
 * then the embedded defaults. Every choice but --config is announced on stderr.
 */
export type ConfigSource = 'option' | 'environment' | 'installed' | 'demo' | 'defaults';

export interface ConfigChoice {
  /** undefined: the embedded defaults. */
  readonly path: string | undefined;
  readonly source: ConfigSource;
}

export const INSTALLED_CONFIG = '/etc/pruem/config.json';
/** `pruem demo`'s default folder and our State in it (appliance/demo/demo.ts DEMO_NODES[0]). */
export const DEMO_CONFIG = join('var', 'demo', 'RO', 'config.json');

export interface ConfigLookup {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly installed?: string;
  readonly exists?: (path: string) => boolean;
}

export function chooseConfig(explicit: string | undefined, lookup: ConfigLookup = {}): ConfigChoice {
  if (explicit !== undefined && explicit !== '') return { path: explicit, source: 'option' };
  const env = lookup.env ?? process.env;
  const exists = lookup.exists ?? existsSync;
  const fromEnv = env.PRUEM_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: 'environment' };
  const installed = lookup.installed ?? INSTALLED_CONFIG;
  if (exists(installed)) return { path: installed, source: 'installed' };
  const demo = resolve(lookup.cwd ?? process.cwd(), DEMO_CONFIG);
  if (exists(demo)) return { path: demo, source: 'demo' };
  return { path: undefined, source: 'defaults' };
}

/** One line for stderr saying which configuration is used and why; null for an explicit --config. */
export function describeChoice(choice: ConfigChoice, cwd: string = process.cwd()): string | null {
  const shown = choice.path === undefined ? '' : relative(cwd, choice.path).startsWith('..') ? choice.path : relative(cwd, choice.path);
  switch (choice.source) {
    case 'option':
      return null;
    case 'environment':
      return `pruem: configuration ${shown} (from $PRUEM_CONFIG)`;
    case 'installed':
      return `pruem: configuration ${shown} (the installed appliance's; --config FILE for another)`;
    case 'demo':
      return `pruem: configuration ${shown} (the demo network's gateway RO, from \`make run\`; --config FILE for another)`;
    case 'defaults':
      return `pruem: no --config given and none found: using the embedded defaults (Member State RO, data in ${join(cwd, 'var')})`;
  }
}
