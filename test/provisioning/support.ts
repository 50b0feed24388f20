/**
 * A production box for tests: a fresh, uninitialised SoftHSM2 token of its own, a configuration file,
 * and a national CA made with openssl (standing in for the national PKI) that answers the box's CSRs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pruemCommand } from '../../appliance/cli/self.js';
import { runOk } from '../../appliance/util/exec.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';

export interface Box {
  readonly state: MemberStateCode;
  readonly dir: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly softhsmConf: string;
  readonly userPinFile: string;
  readonly soPinFile: string;
  readonly env: NodeJS.ProcessEnv;
}

export function makeBox(root: string, state: MemberStateCode, config: Record<string, unknown> = {}): Box {
  const dir = join(root, state);
  const dataDir = join(dir, 'data');
  const hsm = join(dir, 'hsm');
  mkdirSync(join(hsm, 'tokens'), { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const softhsmConf = join(hsm, 'softhsm2.conf');
  writeFileSync(softhsmConf, `directories.tokendir = ${join(hsm, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const userPinFile = join(dir, 'user.pin');
  const soPinFile = join(dir, 'so.pin');
  writeFileSync(userPinFile, `${state.toLowerCase()}-user-4711\n`, { mode: 0o600 });
  writeFileSync(soPinFile, `${state.toLowerCase()}-so-0815\n`, { mode: 0o600 });
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        dataDir,
        listen: { api: { host: '127.0.0.1', port: 0 }, smtp: { host: '127.0.0.1', port: 0 }, officers: null },
        token: { module: '/usr/lib/softhsm/libsofthsm2.so', label: `prod-${state.toLowerCase()}`, softhsmConf, pin: { file: join(dataDir, 'token.pin') } },
        ...config,
      },
      null,
      2,
    ),
  );
  return { state, dir, dataDir, configPath, softhsmConf, userPinFile, soPinFile, env: { ...process.env, SOFTHSM2_CONF: softhsmConf } };
}

/** The flags that provision a box from scratch up to its CSRs. */
export function initialFlags(box: Box): string[] {
  return ['--config', box.configPath, '--member-state', box.state, '--agency', `${box.state} NCP`, '--user-pin-file', box.userPinFile, '--so-pin-file', box.soPinFile, '--pin-file', join(box.dataDir, 'token.pin'), '--keys', '--organization', `${box.state} Police`];
}

/** Runs `pruem <args>` in a child process; resolves with its exit code and output (never rejects on a non-zero exit). */
export function pruem(args: readonly string[], env: NodeJS.ProcessEnv = process.env, input?: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const { command, args: base } = pruemCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...base, ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env });
    if (input !== undefined) child.stdin?.end(input);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

export interface TestCa {
  readonly cert: string;
  readonly key: string;
  readonly dir: string;
}

/** A national CA (openssl): CA:TRUE, keyCertSign. */
export async function makeCa(dir: string, name = 'Test National PKI'): Promise<TestCa> {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.pem');
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3650', '-subj', `/C=EU/O=${name}/CN=${name} Root CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key, dir };
}

/** The CA answers a CSR: the request's extensions (key usage, SAN…) copied, `days` valid. */
export async function issue(ca: TestCa, csrPath: string, outPath: string, days = 365): Promise<string> {
  await runOk('openssl', ['x509', '-req', '-in', csrPath, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-copy_extensions', 'copyall', '-days', String(days), '-out', outPath]);
  return outPath;
}

/** Issues every CSR the box wrote; returns the certificate files. */
export async function issueAll(ca: TestCa, box: Box, outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const csrDir = join(box.dataDir, 'provisioning', 'csr');
  const out: string[] = [];
  for (const f of readdirSync(csrDir).filter((n) => n.endsWith('.csr'))) {
    out.push(await issue(ca, join(csrDir, f), join(outDir, f.replace(/\.csr$/, '.pem'))));
  }
  return out;
}
