import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CHANNELS, MEMBER_STATES, type Channel, type MemberStateCode } from '../peers/member-states.js';
import type { AuditError } from './errors.js';
import type { ExportFilters } from './export.js';
import type { AuditLog } from './log.js';
import type { OfficerRegistry } from './officers.js';
import type { AuditSigner } from './signer.js';
import { exportTo, listRemovableDevices } from './usb.js';
import { formatReport, verifyBundle } from './verify-audit.mjs';
import { OfficersClients } from '../dna-exchange/officers-clients.js';

/**
 * `pruem audit …`: export, verify, officers, devices. `verify` needs nothing but the bundle;
 * the others act on the appliance's log and need its context (database, audit key, user),
 * which the composition root passes in `deps.context`.
 */

export interface AuditCliContext {
  log: AuditLog;
  officers: OfficerRegistry;
  signer: AuditSigner;
  /** Who is running the command (recorded in the log). */
  actor: string;
  /** Folders a directory export may be written below (configuration `audit.exportRoots`); absent: anywhere. */
  exportRoots?: readonly string[];
}

export interface AuditCliDeps {
  context?: () => Promise<AuditCliContext>;
  listDevices?: typeof listRemovableDevices;
  exportTo?: typeof exportTo;
  /** Tests only: accept loop devices as export targets. */
  allowNonRemovableDevices?: boolean;
  /** Where device exports mount drives (default /run/pruem-audit). */
  mountRoot?: string;
}

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const;

const HELP: Record<string, string> = {
  main: `usage: pruem audit <command> [options]

Commands:
  export     write a signed export bundle of the audit log to a folder or a removable drive
  verify     check an export bundle (works without the running appliance)
  officers   list, add, revoke or export the officers authorised for automated searches
  devices    list removable drives an export can be written to
  clients    list, add or revoke the officers' API client credentials (also: pruem officers-client)

Run "pruem audit <command> --help" for the options of each command.
`,
  export: `usage: pruem audit export --from DATE --to DATE [filters] --out DIR|DEVICE

Writes the entries of the audit log (2008/615 Art. 30) in the given time range to a bundle that
can be checked offline with openssl, sha256sum and the bundled verify-audit.mjs.

  --from DATE       first day (YYYY-MM-DD, UTC) or instant (ISO 8601), inclusive
  --to DATE         last day (YYYY-MM-DD, inclusive) or instant (ISO 8601, exclusive)
  --state CC        only exchanges with this partner State (e.g. DE)
  --channel CH      only this channel: dna, fp or vrd
  --officer ID      only entries of this officer (who ran or ordered a search, or acted)
  --ref REF         only entries carrying this reference number
  --proofs MODE     auto (default): inclusion proofs where a month is exported in part;
                    each: an inclusion proof for every entry
  --out DIR|DEVICE  an empty or new folder, or a removable drive such as /dev/sdb1
                    (mounted, written, flushed, read back, verified and unmounted)
`,
  verify: `usage: pruem audit verify DIR [--trust-anchor-sha256 HEX]... [--previous DIR] [--json]

Checks an export bundle: the digests, the signature over SHA256SUMS, the certificate chain, the
signed checkpoints and their chain across months, every entry's inclusion, consistency with
the previous export, deletion records. Needs only the bundle.

  --trust-anchor-sha256 HEX   the trust anchor fingerprint obtained out of band (repeatable)
  --previous DIR              the previous export, to confirm this one continues from it
  --json                      print the report as JSON
Exit status: 0 valid, 1 invalid, 2 usage error.
`,
  officers: `usage: pruem audit officers <list|add|revoke|export> [options]

Officers specially authorised to run automated searches (2008/615 Art. 30(2)(a)).

  list [--active] [--json]
  add --id ID --name NAME --channels dna,fp,vrd [--unit UNIT] [--from INSTANT] [--until INSTANT]
  revoke --id ID [--reason TEXT]
  export --out FILE [--format json|csv]     the list for the supervisory authority
Every change is recorded in the audit log.
`,
  clients: `usage: pruem officers-client <list|add|revoke> [options]    (or: pruem audit clients …)

The national client systems allowed to call the officers' API, each with its own credential.

  list [--json]
  add --name NAME [--out FILE]   prints the credential once (or writes it to FILE, mode 0600);
                                 only its digest is kept on the appliance
  revoke --name NAME|ID          the client stays listed; its credential stops working at once
Every change is recorded in the audit log.
`,
  devices: `usage: pruem audit devices [--json]

Lists removable drives (USB) an export can be written to. Drives the system runs from are never
listed.
`,
};

type Opts = { flags: Map<string, string[]>; positional: string[] };

function parseArgs(argv: string[], valued: readonly string[], booleans: readonly string[]): Opts | string {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
    if (booleans.includes(name)) {
      if (eq !== -1) return `--${name} takes no value`;
      flags.set(name, ['true']);
    } else if (valued.includes(name)) {
      const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith('--'))) return `--${name} needs a value`;
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else {
      return `unknown option --${name}`;
    }
  }
  return { flags, positional };
}

const one = (o: Opts, name: string): string | undefined => o.flags.get(name)?.at(-1);

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A day means the whole UTC day; `--to` with a day includes that day. */
export function parseWhen(value: string, end: boolean): Date | null {
  if (DAY_RE.test(value)) {
    const d = new Date(`${value}T00:00:00.000Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) return null;
    return end ? new Date(d.getTime() + 86_400_000) : d;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function usage(io: Io, command: string, message: string): number {
  write(io.stderr, `pruem audit ${command}: ${message}\n\n${HELP[command] ?? HELP.main}`);
  return EXIT.usage;
}

function failure(io: Io, e: AuditError): number {
  write(io.stderr, `error [${e.code}]: ${e.message}`);
  return EXIT.failed;
}

async function withContext(io: Io, deps: AuditCliDeps, command: string): Promise<AuditCliContext | null> {
  if (!deps.context) {
    write(io.stderr, `pruem audit ${command}: the appliance's audit log and audit key are not available in this process (run it on the appliance)`);
    return null;
  }
  try {
    return await deps.context();
  } catch (e) {
    write(io.stderr, `pruem audit ${command}: cannot open the audit log: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

export async function auditCommand(argv: string[], io: Io, deps: AuditCliDeps = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    write(command === undefined ? io.stderr : io.stdout, HELP.main!);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    if (!HELP[command]) return usage(io, 'main', `unknown command ${command}`);
    write(io.stdout, HELP[command]!);
    return EXIT.ok;
  }
  switch (command) {
    case 'export':
      return exportCommand(rest, io, deps);
    case 'verify':
      return verifyCommand(rest, io);
    case 'officers':
      return officersCommand(rest, io, deps);
    case 'devices':
      return devicesCommand(rest, io, deps);
    case 'clients':
      return clientsCommand(rest, io, deps);
    default:
      return usage(io, 'main', `unknown command ${command}`);
  }
}

async function clientsCommand(argv: string[], io: Io, deps: AuditCliDeps): Promise<number> {
  const [verb, ...rest] = argv;
  const o = parseArgs(rest, ['name', 'out'], ['json']);
  if (typeof o === 'string') return usage(io, 'clients', o);
  if (verb !== 'list' && verb !== 'add' && verb !== 'revoke') return usage(io, 'clients', 'list, add or revoke');
  const name = one(o, 'name');
  if (verb !== 'list' && !name) return usage(io, 'clients', '--name is required');
  const ctx = await withContext(io, deps, 'clients');
  if (!ctx) return EXIT.unavailable;
  const clients = new OfficersClients(ctx.log.db, ctx.log);
  if (verb === 'list') {
    const list = clients.list();
    if (one(o, 'json')) write(io.stdout, JSON.stringify(list, null, 2));
    else for (const c of list) write(io.stdout, `${c.id}  ${c.name.padEnd(24)} ${c.revokedAt ? `revoked ${c.revokedAt} by ${c.revokedBy}` : 'active'}  created ${c.createdAt} by ${c.createdBy}  last used ${c.lastUsedAt ?? 'never'}`);
    return EXIT.ok;
  }
  if (verb === 'revoke') {
    const r = clients.revoke(name!, ctx.actor);
    if (!r.ok) return write(io.stderr, `error [${r.error.code}]: ${r.error.message}`), EXIT.failed;
    write(io.stdout, `client ${r.value.name} revoked`);
    return EXIT.ok;
  }
  const r = clients.add(name!, ctx.actor);
  if (!r.ok) return write(io.stderr, `error [${r.error.code}]: ${r.error.message}`), EXIT.failed;
  const out = one(o, 'out');
  if (out) {
    await writeFile(out, `${r.value.credential}\n`, { mode: 0o600, flag: 'wx' });
    write(io.stdout, `client ${r.value.client.name} added; its credential is in ${out}`);
  } else {
    write(io.stdout, `client ${r.value.client.name} added; its credential (shown only now):\n${r.value.credential}`);
  }
  return EXIT.ok;
}

async function exportCommand(argv: string[], io: Io, deps: AuditCliDeps): Promise<number> {
  const o = parseArgs(argv, ['from', 'to', 'state', 'channel', 'officer', 'ref', 'out', 'proofs'], []);
  if (typeof o === 'string') return usage(io, 'export', o);
  if (o.positional.length > 0) return usage(io, 'export', `unexpected argument ${o.positional[0]}`);
  const fromText = one(o, 'from');
  const toText = one(o, 'to');
  const out = one(o, 'out');
  if (!fromText || !toText || !out) return usage(io, 'export', '--from, --to and --out are required');
  const from = parseWhen(fromText, false);
  const to = parseWhen(toText, true);
  if (!from || !to) return usage(io, 'export', 'dates are YYYY-MM-DD or ISO 8601 instants');
  const state = one(o, 'state')?.toUpperCase();
  if (state !== undefined && !(MEMBER_STATES as readonly string[]).includes(state)) return usage(io, 'export', `unknown State ${state}`);
  const channel = one(o, 'channel');
  if (channel !== undefined && !(CHANNELS as readonly string[]).includes(channel)) return usage(io, 'export', `--channel is one of ${CHANNELS.join(', ')}`);
  const proofs = one(o, 'proofs') ?? 'auto';
  if (proofs !== 'auto' && proofs !== 'each') return usage(io, 'export', '--proofs is auto or each');
  const filters: ExportFilters = {
    from,
    to,
    ...(state !== undefined ? { state: state as MemberStateCode } : {}),
    ...(channel !== undefined ? { channel: channel as Channel } : {}),
    ...(one(o, 'officer') !== undefined ? { officerId: one(o, 'officer')! } : {}),
    ...(one(o, 'ref') !== undefined ? { referenceNumber: one(o, 'ref')! } : {}),
  };
  const ctx = await withContext(io, deps, 'export');
  if (!ctx) return EXIT.unavailable;
  const options = { filters, actor: ctx.actor, signer: ctx.signer, officers: ctx.officers, proofs } as const;
  // The one export path the console uses too (usb.ts exportTo): a drive is mounted, written,
  // flushed, read back and unmounted; a folder must lie below an allowed root.
  const device = out.startsWith('/dev/');
  if (device) write(io.stdout, `Writing the export to ${out} …`);
  const r = await (deps.exportTo ?? exportTo)(device ? { kind: 'device', device: out } : { kind: 'directory', path: resolve(out) }, ctx.log, options, {
    ...(ctx.exportRoots ? { roots: ctx.exportRoots } : {}),
    ...(deps.mountRoot ? { mountRoot: deps.mountRoot } : {}),
    ...(deps.allowNonRemovableDevices ? { allowNonRemovable: true } : {}),
  });
  if (!r.ok) return failure(io, r.error);
  const result = r.value;
  write(io.stdout, device ? `Written to ${out} in folder ${result.dir}; read back and verified; the drive is unmounted and can be removed.` : `Written to ${out}; read back and verified.`);
  write(
    io.stdout,
    [
      `Export ${result.exportId}: ${result.entries} entries, ${result.files.length} files, ${result.bytes} bytes.`,
      `SHA-256 of SHA256SUMS: ${result.sumsSha256}`,
      `Trust anchor SHA-256 fingerprint (give it to the recipient by a separate channel):`,
      ...result.trustAnchorsSha256.map((f) => `  ${f.toUpperCase().match(/../g)?.join(':')}`),
    ].join('\n'),
  );
  return EXIT.ok;
}

async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const o = parseArgs(argv, ['trust-anchor-sha256', 'previous'], ['json']);
  if (typeof o === 'string') return usage(io, 'verify', o);
  if (o.positional.length !== 1) return usage(io, 'verify', 'exactly one bundle folder is required');
  const dir = o.positional[0]!;
  const anchors = (o.flags.get('trust-anchor-sha256') ?? []).map((a) => a.replace(/:/g, '').toLowerCase());
  if (!anchors.every((a) => /^[0-9a-f]{64}$/.test(a))) return usage(io, 'verify', '--trust-anchor-sha256 needs 64 hex digits (colons allowed)');
  const previous = one(o, 'previous');
  const report = await verifyBundle(dir, { trustAnchorSha256: anchors, ...(previous !== undefined ? { previous } : {}) });
  write(io.stdout, o.flags.has('json') ? JSON.stringify(report, null, 2) : formatReport(dir, report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

async function officersCommand(argv: string[], io: Io, deps: AuditCliDeps): Promise<number> {
  const [sub = 'list', ...rest] = argv;
  const o = parseArgs(rest, ['id', 'name', 'channels', 'unit', 'from', 'until', 'reason', 'out', 'format'], ['json', 'active']);
  if (typeof o === 'string') return usage(io, 'officers', o);
  if (!['list', 'add', 'revoke', 'export'].includes(sub)) return usage(io, 'officers', `unknown subcommand ${sub}`);
  if (sub === 'add') {
    const id = one(o, 'id');
    const name = one(o, 'name');
    const channels = one(o, 'channels')?.split(',').map((c) => c.trim());
    if (!id || !name || !channels) return usage(io, 'officers', 'add needs --id, --name and --channels');
    const fromText = one(o, 'from');
    const untilText = one(o, 'until');
    const from = fromText !== undefined ? parseWhen(fromText, false) : undefined;
    const until = untilText !== undefined ? parseWhen(untilText, false) : undefined;
    if (from === null || until === null) return usage(io, 'officers', '--from/--until are YYYY-MM-DD or ISO 8601 instants');
    const ctx = await withContext(io, deps, 'officers');
    if (!ctx) return EXIT.unavailable;
    const r = ctx.officers.grant({
      officerId: id,
      name,
      channels: channels as Channel[],
      grantedBy: ctx.actor,
      ...(one(o, 'unit') !== undefined ? { unit: one(o, 'unit')! } : {}),
      ...(from ? { authorisedFrom: from } : {}),
      ...(until ? { authorisedUntil: until } : {}),
    });
    if (!r.ok) return failure(io, r.error);
    write(io.stdout, `Officer ${r.value.officerId} authorised for ${r.value.channels.join(', ')} from ${r.value.authorisedFrom}${r.value.authorisedUntil ? ` until ${r.value.authorisedUntil}` : ''}.`);
    return EXIT.ok;
  }
  if (sub === 'revoke') {
    const id = one(o, 'id');
    if (!id) return usage(io, 'officers', 'revoke needs --id');
    const ctx = await withContext(io, deps, 'officers');
    if (!ctx) return EXIT.unavailable;
    const r = ctx.officers.revoke(id, ctx.actor, one(o, 'reason'));
    if (!r.ok) return failure(io, r.error);
    write(io.stdout, `Officer ${id}: authorisation revoked.`);
    return EXIT.ok;
  }
  const ctx = await withContext(io, deps, 'officers');
  if (!ctx) return EXIT.unavailable;
  if (sub === 'export') {
    const out = one(o, 'out');
    const format = one(o, 'format') ?? 'json';
    if (!out) return usage(io, 'officers', 'export needs --out FILE');
    if (format !== 'json' && format !== 'csv') return usage(io, 'officers', '--format is json or csv');
    const text = format === 'json' ? `${JSON.stringify(ctx.officers.exportList(), null, 2)}\n` : ctx.officers.exportCsv();
    try {
      await writeFile(out, text, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      write(io.stderr, `error [EXPORT_WRITE_FAILED]: cannot write ${out}: ${e instanceof Error ? e.message : String(e)}`);
      return EXIT.failed;
    }
    write(io.stdout, `Wrote the list of authorised officers to ${out}.`);
    return EXIT.ok;
  }
  const list = ctx.officers.list({ activeOnly: o.flags.has('active') });
  if (o.flags.has('json')) {
    write(io.stdout, JSON.stringify(list, null, 2));
    return EXIT.ok;
  }
  if (list.length === 0) write(io.stdout, 'No officers on the list.');
  for (const g of list) {
    const status = g.revokedAt ? `revoked ${g.revokedAt} by ${g.revokedBy}` : g.authorisedUntil ? `until ${g.authorisedUntil}` : 'in force';
    write(io.stdout, `${g.officerId}\t${g.name}${g.unit ? ` (${g.unit})` : ''}\t${g.channels.join(',')}\tfrom ${g.authorisedFrom} by ${g.grantedBy}\t${status}`);
  }
  return EXIT.ok;
}

async function devicesCommand(argv: string[], io: Io, deps: AuditCliDeps): Promise<number> {
  const o = parseArgs(argv, [], ['json']);
  if (typeof o === 'string') return usage(io, 'devices', o);
  const r = await (deps.listDevices ?? listRemovableDevices)();
  if (!r.ok) return failure(io, r.error);
  if (o.flags.has('json')) write(io.stdout, JSON.stringify(r.value, null, 2));
  else if (r.value.length === 0) write(io.stdout, 'No removable drive found.');
  else for (const d of r.value) write(io.stdout, `${d.path}\t${(d.sizeBytes / 1e9).toFixed(1)} GB\t${d.type}\t${d.fstype ?? '-'}\t${d.label ?? ''}${d.mountpoint ? `\tmounted on ${d.mountpoint}` : ''}`);
  return EXIT.ok;
}
