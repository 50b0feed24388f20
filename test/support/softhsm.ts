import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runOk } from '../../appliance/util/exec.js';

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface TestToken {
  /** The private softhsm2.conf; pass it as `softhsmConf` to Token.open. */
  readonly conf: string;
  /** PKCS#11 module path (SoftHSM2). */
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  /** Temp folder holding the conf and the token store. */
  readonly dir: string;
  /** Environment for child processes (openssl -engine pkcs11, pkcs11-tool): SOFTHSM2_CONF set. */
  readonly env: NodeJS.ProcessEnv;
  /** Removes the temp folder. Close any Token opened on it first. */
  cleanup(): void;
}

/**
 * Makes an empty, initialised SoftHSM2 token in its own temp folder, so tests never touch
 * /var/lib/softhsm or each other. The token is created by `softhsm2-util` in a child process:
 * the test process's PKCS#11 module is only initialised later, by Token.open.
 */
export async function createTestToken(opts: { label?: string; pin?: string; soPin?: string } = {}): Promise<TestToken> {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const label = opts.label ?? 'test';
  const pin = opts.pin ?? randomBytes(6).toString('hex');
  const soPin = opts.soPin ?? randomBytes(6).toString('hex');
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  await runOk('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env });
  return {
    conf,
    module: SOFTHSM2_MODULE,
    label,
    pin,
    soPin,
    dir,
    env,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
