/**
 * `pruem provision`: the production provisioning as prompts (interactive) or flags (scripted installs),
 * and its life-cycle sub-commands. The work is in production.ts / lifecycle.ts, shared with the serial
 * console and the console's wizard.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { CommandIo } from '../appliance/cli/io.js';
import { prompter, type Prompter } from '../appliance/cli/prompt.js';
import { chooseConfig, describeChoice } from '../appliance/cli/config-path.js';
import { loadConfig, type GatewayConfig } from '../appliance/config/config.js';
import { Token } from '../appliance/token/token.js';
import { isMemberStateCode, type MemberStateCode } from '../appliance/peers/member-states.js';
import { ensureDevelopmentToken, tokenOptionsFromConfig } from './development-token.js';
import { provision, provisioningState, renderSummary, renew, type NetworkInput, type ProvisionInput, type PeerCandidate } from './production.js';
import { addPeer, createBackup, factoryReset, removePeer, resetConfirmation, restoreBackup, setPeerEnabled } from './lifecycle.js';
import { auditLogSink, openApplianceAudit } from './audit.js';
import { emptyRecord, readRecord, writeRecord } from './state.js';

const HELP = `usage: pruem provision [--config FILE] [step flags]      production provisioning (prompts when run on a terminal without flags)
       pruem provision --development [--config FILE]       SoftHSM2 DEVELOPMENT token and self-signed certificates (never for TESTA)
       pruem provision status|renew|peer|backup|restore|reset …

Every step is idempotent; rerun the same command after an interruption and it completes.
  Settings:     --member-state CC  --agency NAME  --relay HOST:PORT [--relay-tls] | --no-relay
                --interface IF --address A.B.C.D/NN [--gateway A.B.C.D] [--dns A.B.C.D]…
  Token:        --user-pin-file F | $PRUEM_USER_PIN   --so-pin-file F | $PRUEM_SO_PIN (only to initialise)
                --pin-file PATH | --pin-env NAME      (where the daemon reads the PIN; never a literal)
                [--token-label L] [--module LIB]
  Keys, CSRs:   --keys  [--organization O] [--unit OU]  [--csr-out DIR]  (a key and a CSR per purpose)
  Certificates: --ca FILE…  --certificate [LABEL=]FILE…  --peers [CC=]FILE…  [--yes]
  Lifecycle:    status | renew --key LABEL… | peer add CC [--signing F] [--encryption F] | peer remove CC
                peer disable|enable CC [--channel dna|fp|vrd]… | backup --out FILE | restore FILE (--ca F | --signer SHA256)
                reset --so-pin-file F --confirm "ERASE <CC>" [--discard-audit]`;

const SPEC = {
  config: { type: 'string', short: 'c' },
  development: { type: 'boolean' },
  interactive: { type: 'boolean', short: 'i' },
  'member-state': { type: 'string' },
  agency: { type: 'string' },
  relay: { type: 'string' },
  'relay-tls': { type: 'boolean' },
  'no-relay': { type: 'boolean' },
  interface: { type: 'string' },
  address: { type: 'string' },
  gateway: { type: 'string' },
  dns: { type: 'string', multiple: true },
  'user-pin-file': { type: 'string' },
  'so-pin-file': { type: 'string' },
  'pin-file': { type: 'string' },
  'pin-env': { type: 'string' },
  'token-label': { type: 'string' },
  module: { type: 'string' },
  keys: { type: 'boolean' },
  organization: { type: 'string' },
  unit: { type: 'string' },
  'csr-out': { type: 'string' },
  ca: { type: 'string', multiple: true },
  certificate: { type: 'string', multiple: true },
  peers: { type: 'string', multiple: true },
  yes: { type: 'boolean', short: 'y' },
  key: { type: 'string', multiple: true },
  signing: { type: 'string' },
  encryption: { type: 'string' },
  channel: { type: 'string', multiple: true },
  out: { type: 'string' },
  signer: { type: 'string' },
  confirm: { type: 'string' },
  'discard-audit': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof SPEC; allowPositionals: true }>>['values'];

class Usage extends Error {}

function secret(file: string | undefined, env: string): string | undefined {
  if (file) return readFileSync(file, 'utf8').trim();
  const v = process.env[env];
  return v === undefined || v === '' ? undefined : v;
}

function actor(): string {
  return process.env.SUDO_USER ?? userInfo().username;
}

function withAudit<T>(config: GatewayConfig, via: string, work: (sink: ReturnType<typeof auditLogSink>) => Promise<T>): Promise<T> {
  const a = openApplianceAudit(config);
  return work(auditLogSink(a.log, actor(), via)).finally(() => a.close());
}

/** The flags as a ProvisionInput (null fields: the step is not asked for). */
export function inputFromFlags(v: Values, config: GatewayConfig): ProvisionInput {
  const input: { -readonly [K in keyof ProvisionInput]: ProvisionInput[K] } = {};
  if (v['member-state'] !== undefined) {
    const ms = v['member-state'].toUpperCase();
    if (!isMemberStateCode(ms)) throw new Usage(`unknown Member State code "${v['member-state']}"`);
    input.memberState = ms;
  }
  if (v.agency !== undefined) input.agency = v.agency;
  if (v['no-relay']) input.relay = null;
  else if (v.relay !== undefined) {
    const m = /^([^:]+):(\d+)$/.exec(v.relay);
    if (!m) throw new Usage('--relay HOST:PORT');
    input.relay = { host: m[1]!, port: Number(m[2]), requireTls: Boolean(v['relay-tls']) };
  }
  if (v.address !== undefined || v.interface !== undefined) {
    if (!v.address || !v.interface) throw new Usage('--interface and --address go together');
    const n: NetworkInput = { interface: v.interface, address: v.address, gateway: v.gateway ?? null, dns: v.dns ?? [] };
    input.network = n;
  }
  const userPin = secret(v['user-pin-file'], 'PRUEM_USER_PIN');
  if (userPin !== undefined || v['pin-file'] !== undefined || v['pin-env'] !== undefined) {
    if (userPin === undefined) throw new Usage('the user PIN: --user-pin-file FILE or $PRUEM_USER_PIN');
    const pinSource = v['pin-env'] ? { env: v['pin-env'] } : { file: v['pin-file'] ?? ('file' in config.token.pin ? config.token.pin.file : `${config.dataDir}/token.pin`) };
    const soPin = secret(v['so-pin-file'], 'PRUEM_SO_PIN');
    input.token = { userPin, pinSource, ...(soPin ? { soPin } : {}), ...(v['token-label'] ? { label: v['token-label'] } : {}), ...(v.module ? { module: v.module } : {}) };
  }
  if (v.keys) input.keys = true;
  if (v.organization || v.unit) input.subject = { ...(v.organization ? { organization: v.organization } : {}), ...(v.unit ? { organizationalUnit: v.unit } : {}) };
  if (v.ca?.length) input.caFiles = v.ca;
  if (v.certificate?.length) input.certificateFiles = v.certificate;
  if (v.peers?.length) input.peerFiles = v.peers;
  return input;
}

/** Prompts for each step, the current value as the default; the same ProvisionInput as the flags. */
async function inputFromPrompts(config: GatewayConfig, rl: Prompter): Promise<ProvisionInput> {
  const ask = (_: unknown, q: string, def?: string) => rl.ask(q, def);
  const askSecret = (q: string) => rl.ask(q, undefined, { secret: true });
  {
    const ms = (await ask(rl, 'Member State code', config.memberState)).toUpperCase();
    if (!isMemberStateCode(ms)) throw new Usage(`unknown Member State code "${ms}"`);
    const agency = await ask(rl, 'Agency (NCP name in the audit record and the certificates)', config.agency);
    const relayText = await ask(rl, 'TESTA relay HOST:PORT (empty: none)', config.relay ? `${config.relay.host}:${config.relay.port}` : '');
    const rm = /^([^:]+):(\d+)$/.exec(relayText);
    const input: { -readonly [K in keyof ProvisionInput]: ProvisionInput[K] } = { memberState: ms as MemberStateCode, agency, relay: rm ? { host: rm[1]!, port: Number(rm[2]), requireTls: false } : null, keys: true };
    if ((await ask(rl, 'Set up the token now? (y/n)', 'y')).startsWith('y')) {
      const userPin = await askSecret('User PIN');
      const soPin = await askSecret('SO PIN (only to initialise a new token; empty to skip)');
      const where = await ask(rl, 'Daemon reads the PIN from: file PATH or env NAME', 'file' in config.token.pin ? `file ${config.token.pin.file}` : 'env PRUEM_TOKEN_PIN');
      const [kind, value] = where.split(/\s+/, 2);
      input.token = { userPin, ...(soPin ? { soPin } : {}), pinSource: kind === 'env' ? { env: value ?? 'PRUEM_TOKEN_PIN' } : { file: value ?? `${config.dataDir}/token.pin` } };
    }
    input.subject = { organization: await ask(rl, 'Organisation (O=) in the certificate requests', config.agency) };
    const ca = await ask(rl, 'National CA chain file (empty: later)');
    if (ca) input.caFiles = [ca];
    const certs = await ask(rl, 'Issued certificates file(s), space-separated (empty: later)');
    if (certs) input.certificateFiles = certs.split(/\s+/);
    const peers = await ask(rl, 'Peer certificate bundle(s) (empty: later)');
    if (peers) {
      input.peerFiles = peers.split(/\s+/);
      input.confirmPeer = async (p: PeerCandidate) => (await ask(rl, `  import ${p.state} ${p.usage} certificate SHA-256 ${p.info.fingerprintSha256}? (y/n)`, 'n')).startsWith('y');
    }
    return input;
  }
}

export async function provisionCommand(argv: string[], io: CommandIo): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: SPEC, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`pruem provision: ${(e as Error).message}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const say = (line: string) => io.stdout.write(`${line}\n`);
  try {
    // --config, else $PRUEM_CONFIG or the installed appliance's /etc/pruem/config.json (announced), as every pruem command.
    const choice = chooseConfig(v.config);
    const note = describeChoice(choice);
    if (note !== null) io.stderr.write(`${note}\n`);
    const configPath = choice.path;
    const config = loadConfig(configPath);
    const [verb, ...rest] = positionals;
    if (verb === undefined) {
      if (v.development) return await development(config, io);
      const interactive = v.interactive || (process.stdin.isTTY && argv.filter((a) => a !== '--config' && a !== '-c' && a !== configPath).length === 0);
      const questions = interactive ? prompter(io) : null;
      try {
        const input = questions ? await inputFromPrompts(config, questions) : inputFromFlags(v, config);
        if (Object.keys(input).length === 0) throw new Usage('nothing to do: give step flags (see --help), --interactive, or --development for a development token');
        if (!configPath && (input.memberState || input.token || input.relay !== undefined)) throw new Usage('--config FILE: the settings are written to the configuration file');
        let confirmer: Prompter | null = questions;
        if (input.peerFiles && !v.yes && !input.confirmPeer && process.stdin.isTTY) {
          const c = (confirmer ??= prompter(io));
          (input as { confirmPeer?: ProvisionInput['confirmPeer'] }).confirmPeer = async (p) => (await c.ask(`  import ${p.state} ${p.usage} certificate SHA-256 ${p.info.fingerprintSha256}? (y/n)`, 'n')).startsWith('y');
        }
        const result = await withAudit(config, 'pruem provision', (audit) => provision({ configPath: configPath ?? null, config, audit, out: say }, input)).finally(() => confirmer?.close());
        if (v['csr-out']) {
          for (const c of result.csrs) writeFileSync(`${v['csr-out']}/${c.label}.csr`, readFileSync(c.path));
        }
        say('');
        say(result.summary);
        return 0;
      } finally {
        questions?.close();
      }
    }
    switch (verb) {
      case 'status': {
        const token = await Token.open(tokenOptionsFromConfig(config, { allowNotReady: true })).catch(() => null);
        try {
          const state = await provisioningState(config, token);
          say(renderSummary(config, readRecord(config.dataDir) ?? emptyRecord('production'), state));
          return state.ready ? 0 : 1;
        } finally {
          await token?.close();
        }
      }
      case 'renew': {
        if (!v.key?.length) throw new Usage('renew --key LABEL (e.g. ncp-sign)');
        const r = await withAudit(config, 'pruem provision renew', (audit) => renew({ configPath: configPath ?? null, config, audit, out: say }, v.key!, v.organization ? { organization: v.organization } : undefined));
        for (const c of r.csrs) say(`new request ${c.path}: ${c.subject} — the current certificate keeps serving until the new one is imported`);
        return 0;
      }
      case 'peer': {
        if (!configPath) throw new Usage('--config FILE');
        const [action, code] = rest;
        if (!code) throw new Usage('peer add|remove|disable|enable CC');
        const cc = code.toUpperCase();
        const channels = (v.channel ?? []).filter((c): c is 'dna' | 'fp' | 'vrd' => c === 'dna' || c === 'fp' || c === 'vrd');
        await withAudit(config, 'pruem provision peer', async (audit) => {
          if (action === 'add') {
            const r = await addPeer(configPath, audit, cc, { ...(v.signing ? { signing: v.signing } : {}), ...(v.encryption ? { encryption: v.encryption } : {}) });
            for (const w of r.warnings) say(`warning: ${w}`);
          } else if (action === 'remove') removePeer(configPath, audit, cc);
          else if (action === 'disable' || action === 'enable') setPeerEnabled(configPath, audit, cc, action === 'enable', channels.length ? channels : ['dna', 'fp']);
          else throw new Usage('peer add|remove|disable|enable CC');
        });
        say(`peer ${cc}: ${action} done; the daemon reads peers at start (restart it to apply)`);
        return 0;
      }
      case 'backup': {
        if (!configPath || !v.out) throw new Usage('backup --config FILE --out FILE');
        const token = await Token.open(tokenOptionsFromConfig(config));
        try {
          const file = await withAudit(config, 'pruem provision backup', (audit) => createBackup(configPath, token, audit));
          writeFileSync(v.out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
        } finally {
          await token.close();
        }
        say(`backup written to ${v.out} (configuration and public certificates; no keys, no PINs)`);
        return 0;
      }
      case 'restore': {
        const [file] = rest;
        if (!configPath || !file) throw new Usage('restore FILE --config FILE (--ca NATIONAL-CA.pem | --signer SHA256)');
        const trust = { ...(v.ca?.[0] ? { caPem: v.ca.map((f) => readFileSync(f, 'utf8')).join('') } : {}), ...(v.signer ? { signerSha256: v.signer } : {}) };
        await withAudit(config, 'pruem provision restore', async (audit) => restoreBackup(configPath, readFileSync(file, 'utf8'), trust, audit));
        say('configuration restored; now provision the token and keys again (pruem provision --user-pin-file … --keys), then import the new certificates');
        return 0;
      }
      case 'reset': {
        if (!configPath) throw new Usage('reset --config FILE --so-pin-file F --confirm "ERASE <CC>"');
        const soPin = secret(v['so-pin-file'], 'PRUEM_SO_PIN');
        if (!soPin) throw new Usage('the SO PIN: --so-pin-file FILE or $PRUEM_SO_PIN');
        let typed = v.confirm;
        if (typed === undefined && process.stdin.isTTY) {
          const rl = prompter(io);
          typed = await rl.ask(`This erases every key on the token and all data. Type "${resetConfirmation(config)}" to continue`);
          rl.close();
        }
        const audit = openApplianceAudit(config);
        let steps: string[];
        try {
          steps = await factoryReset(configPath, { soPin, typed: typed ?? '', discardAudit: Boolean(v['discard-audit']), audit: auditLogSink(audit.log, actor(), 'pruem provision reset') });
        } finally {
          audit.close();
        }
        for (const s of steps) say(s);
        return 0;
      }
      default:
        throw new Usage(`unknown provision command "${verb}"`);
    }
  } catch (e) {
    if (e instanceof Usage) {
      io.stderr.write(`pruem provision: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`pruem provision: ${(e as { code?: string }).code ? `${(e as { code?: string }).code}: ` : ''}${(e as Error).message}\n`);
    return 1;
  }
}

/** The SoftHSM2 development path (explicit flag), recorded so production provisioning refuses to mix with it. */
async function development(config: GatewayConfig, io: CommandIo): Promise<number> {
  const result = await ensureDevelopmentToken(config, { explicit: true });
  if (result.status === 'not-softhsm') throw new Usage(`${config.token.module} is not SoftHSM2: development certificates are for SoftHSM2 tokens only`);
  if (result.status === 'production') throw new Usage('this appliance is provisioned for production: no development certificates');
  for (const action of result.actions) io.stdout.write(`${action}\n`);
  if (!existsSync(`${config.dataDir}/provisioning/state.json`)) {
    const record = emptyRecord('development');
    record.steps.summary = { at: new Date().toISOString(), detail: 'development token and self-signed DEVELOPMENT certificates' };
    writeRecord(config.dataDir, record);
  }
  io.stdout.write(`development token "${config.token.label}" ready — DEVELOPMENT certificates, not for TESTA\n`);
  return 0;
}
