import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { dispatch, processIo, type CommandIo, type Subcommand } from './io.js';
import { ConfigError, loadConfig, type GatewayConfig } from '../config/config.js';
import { chooseConfig, describeChoice } from './config-path.js';
import { productVersion } from './version.js';

/** Parses a subcommand's options; prints help and returns null for --help, throws a usage error otherwise. */
export function options<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }>>(
  argv: string[],
  spec: T,
  help: string,
  io: CommandIo,
  allowPositionals = false,
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>['values']; positionals: string[] } | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return null;
  }
  const parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  if (!allowPositionals && parsed.positionals.length) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  return { values: parsed.values, positionals: parsed.positionals };
}

export class UsageError extends Error {}

const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** The configuration a command uses: --config, or the one chooseConfig() finds, announced on stderr. */
function configFor(explicit: string | undefined, io: CommandIo): { config: GatewayConfig; path: string | undefined } {
  const choice = chooseConfig(explicit);
  const note = describeChoice(choice);
  if (note !== null) io.stderr.write(`${note}\n`);
  return { config: loadConfig(choice.path), path: choice.path };
}

const commands: Record<string, Subcommand> = {
  run: {
    summary: 'run the gateway daemon (SMTP receiver, queue, API and console)',
    async run(argv, io) {
      const o = options(argv, CONFIG_OPTION, 'usage: pruem run [--config FILE]\n\nRuns the gateway in the foreground until SIGTERM/SIGINT.\nWithout --config: $PRUEM_CONFIG, /etc/pruem/config.json or the demo network var/demo/RO/config.json\nif one exists (the choice is printed), else embedded defaults: Member State RO, data in ./var,\nAPI on 127.0.0.1:8080.', io);
      if (!o) return 0;
      const { runDaemon } = await import('../main.js');
      const { config, path } = configFor(o.values.config, io);
      return runDaemon(config, io, path);
    },
  },
  provision: {
    summary: 'create the development token, keys and certificates if missing (first boot)',
    async run(argv, io) {
      const o = options(argv, CONFIG_OPTION, 'usage: pruem provision [--config FILE]\n\nInitialises a SoftHSM2 development token with the gateway keys and\nself-signed DEVELOPMENT certificates, unless they exist already. Idempotent.', io);
      if (!o) return 0;
      const { provisionFirstBoot } = await import('../main.js');
      await provisionFirstBoot(configFor(o.values.config, io).config, io);
      return 0;
    },
  },
  demo: {
    summary: 'run our gateway with two simulated peer States and a local relay (no TESTA needed)',
    async run(argv, io) {
      const o = options(
        argv,
        { dir: { type: 'string', default: 'var/demo' }, fresh: { type: 'boolean', default: false } },
        'usage: pruem demo [--dir DIR] [--fresh]\n\nStarts RO (API on 127.0.0.1:8080), DE (8081) and AT (8082), each a full gateway\nprocess with its own token and seeded synthetic DNA database, joined by a local\nrelay standing in for TESTA. --fresh deletes DIR first.',
        io,
      );
      if (!o) return 0;
      const { runDemo } = await import('../demo/demo.js');
      return runDemo({ dir: String(o.values.dir), fresh: Boolean(o.values.fresh) }, io);
    },
  },
  config: {
    summary: 'check a configuration file and print it with defaults filled in',
    async run(argv, io) {
      const o = options(argv, {}, 'usage: pruem config check FILE', io, true);
      if (!o) return 0;
      const [verb, file] = o.positionals;
      if (verb !== 'check' || !file) throw new UsageError('usage: pruem config check FILE');
      const config = loadConfig(file);
      io.stdout.write(`${JSON.stringify({ ...config, token: { ...config.token, pin: '(hidden)' } }, null, 2)}\n`);
      return 0;
    },
  },
  status: {
    summary: 'print the running gateway\'s status (GET /api/status)',
    async run(argv, io) {
      const o = options(
        argv,
        { ...CONFIG_OPTION, url: { type: 'string' } },
        'usage: pruem status [--config FILE] [--url URL]\n\nAsks the daemon of this configuration (or the one at URL) for its status. Over HTTPS the\nserver must show the certificate the configuration names (checked by its SHA-256).',
        io,
      );
      if (!o) return 0;
      const { fetchStatus, statusTarget } = await import('./status.js');
      const target = o.values.url ? { url: String(o.values.url), pinSha256: null } : statusTarget(configFor(o.values.config, io).config);
      const r = await fetchStatus(target);
      if (!r.ok) {
        io.stderr.write(`pruem status: ${r.error}\n`);
        return 1;
      }
      io.stdout.write(`${JSON.stringify(r.body, null, 2)}\n`);
      return r.status === 200 ? 0 : 1;
    },
  },
  ping: {
    summary: 'send link-test messages to a peer through the full S/MIME path',
    async run(argv, io) {
      const o = options(
        argv,
        { ...CONFIG_OPTION, channel: { type: 'string', default: 'dna' }, count: { type: 'string', default: '1' } },
        'usage: pruem ping STATE [--channel dna|fp] [--count N] [--config FILE]\n\nQueues N ping messages to STATE; the running daemon sends them and the\npeer answers pong. Works while the daemon runs (shared SQLite and token).',
        io,
        true,
      );
      if (!o) return 0;
      const [state] = o.positionals;
      if (!state) throw new UsageError('usage: pruem ping STATE');
      const { queuePings } = await import('../main.js');
      const ids = await queuePings(configFor(o.values.config, io).config, state, String(o.values.channel), Number(o.values.count));
      io.stdout.write(`${ids.join('\n')}\n`);
      return 0;
    },
  },
  dna: {
    summary: 'DNA: import the national database, search, validate PRUEMDNA files',
    async run(argv, io) {
      const { dnaCommand } = await import('../dna/cli.js');
      return dnaCommand(argv, io);
    },
  },
  nist: {
    summary: 'fingerprints: check, dump or build ANSI/NIST-ITL (INT-I 4.22) files',
    async run(argv, io) {
      const { nistCommand } = await import('../fingerprint/cli.js');
      return nistCommand(argv, io);
    },
  },
  'officers-client': {
    summary: "officers' API client credentials: list, add, revoke (one per national client system)",
    async run(argv, io) {
      const { auditCommandFromCli } = await import('../main.js');
      return auditCommandFromCli(withConfig(['clients', ...argv], io), io);
    },
  },
  audit: {
    summary: 'audit log: export for the authority, verify an export, authorised officers',
    async run(argv, io) {
      const { auditCommandFromCli } = await import('../main.js');
      return auditCommandFromCli(withConfig(argv, io), io);
    },
  },
};

/**
 * `pruem audit` reads --config itself; without one it gets the configuration chooseConfig() finds.
 * Announced only for the subcommands that open the log (`verify` and help need no configuration).
 */
function withConfig(argv: string[], io: CommandIo): string[] {
  if (argv.includes('--config') || argv.includes('-c')) return argv;
  const choice = chooseConfig(undefined);
  if (choice.path === undefined) return argv;
  const sub = argv.find((a) => !a.startsWith('-'));
  const needsLog = sub !== undefined && sub !== 'verify' && sub !== 'help' && !argv.includes('--help') && !argv.includes('-h');
  const note = describeChoice(choice);
  if (needsLog && note !== null) io.stderr.write(`${note}\n`);
  return ['--config', choice.path, ...argv];
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout.write(`pruem ${productVersion()} (Node.js ${process.version})\n`);
    return 0;
  }
  try {
    return await dispatch('pruem', commands, argv, io);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      io.stderr.write(`pruem: ${error.message}\n`);
      return 2;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`pruem: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`pruem: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

// Run when executed directly (tsx in development; bin/pruem.js imports main() from the build).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
