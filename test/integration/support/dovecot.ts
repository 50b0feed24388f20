/**
 * A real Dovecot POP3 server for integration tests and the demo network, started without systemd and
 * without touching /etc/dovecot: private base_dir, state_dir, log, a passwd-file with one user, and one
 * maildir. Pair it with Postfix to test retrieval end to end:
 *
 *   const pop = await startDovecot({ dir: join(tmp, 'dovecot'), port: await freePort(), user: 'gwtest', password: 'secret' });
 *   const relay = await startPostfix({ …, localMaildirDomains: [pop.maildirRoute('dna.pruem.ro.eu-admin.net')] });
 *   // mail for *@dna.pruem.ro.eu-admin.net sent to the relay lands in pop.maildir, served on 127.0.0.1:pop.port
 *   await pop.stop();   // in an after() hook
 *
 * Requirements: root, package `dovecot-pop3d`, every folder above `dir` searchable by others (the mail
 * process runs as `uid`). Keep `dir` short: Dovecot's sockets live in base_dir (107-byte path limit).
 * Quirks: several instances need distinct base_dir (sockets, master.pid) and instance_name; the mail uid
 * must lie in first_valid_uid..last_valid_uid (default 500..), so they are set to exactly `uid`; plaintext
 * USER/PASS must be allowed explicitly (disable_plaintext_auth = no, ssl = no) because TLS is off on loopback.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from '../../../appliance/util/exec.js';
import { alive, checkSearchable, onProcessExit, reap, startDaemon, waitForPidFile, type MaildirRoute } from './postfix.js';
import { waitForPort } from '../../support/ports.js';

export interface DovecotOptions {
  /** Private folder of this instance (created if missing). */
  readonly dir: string;
  /** POP3 port on 127.0.0.1. */
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Owner of the maildir and the uid the POP3 process runs as; default 8/8 (Debian's `mail`). */
  readonly uid?: number;
  readonly gid?: number;
}

export interface DovecotInstance {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The user's maildir (cur/ new/ tmp/). */
  readonly maildir: string;
  readonly logFile: string;
  /** What startPostfix's localMaildirDomains needs to deliver every address of `domain` into this maildir. */
  maildirRoute(domain: string): MaildirRoute;
  /** Messages waiting in the maildir (new/ and cur/), read from disk. */
  count(): number;
  /** Puts a message straight into the maildir, as a delivery agent would. */
  deliver(raw: Buffer): void;
  log(): string;
  stop(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9._-]+$/;

function groupId(name: string): number {
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const gid = Number(line?.split(':')[2]);
  if (!Number.isInteger(gid)) throw new Error(`group ${name} not found: install the dovecot-pop3d package`);
  return gid;
}

export async function startDovecot(opts: DovecotOptions): Promise<DovecotInstance> {
  if (!SAFE.test(opts.user)) throw new Error(`user name must match ${SAFE}`);
  if (/[:\n\r]/.test(opts.password)) throw new Error('password must not contain ":" or line breaks (passwd-file)');
  const dir = resolve(opts.dir);
  const uid = opts.uid ?? 8;
  const gid = opts.gid ?? 8;
  const baseDir = join(dir, 'run');
  const home = join(dir, 'vmail', opts.user);
  const maildir = join(home, 'Maildir');
  const logFile = join(dir, 'dovecot.log');
  const confFile = join(dir, 'dovecot.conf');

  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  checkSearchable(dir, `Dovecot's mail process (uid ${uid})`);
  mkdirSync(join(dir, 'state'), { recursive: true });
  for (const sub of ['', 'cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  for (const p of [join(dir, 'vmail'), home, maildir, join(maildir, 'cur'), join(maildir, 'new'), join(maildir, 'tmp')]) {
    chownSync(p, uid, gid);
    chmodSync(p, 0o700);
  }
  chmodSync(join(dir, 'vmail'), 0o755);
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `${opts.user}:{PLAIN}${opts.password}\n`, { mode: 0o600 });
  // Read by Dovecot's auth process, which runs as the `dovecot` user.
  chownSync(passwd, 0, groupId('dovecot'));
  chmodSync(passwd, 0o640);

  writeFileSync(
    confFile,
    `# written by test/integration/support/dovecot.ts
instance_name = dovecot-${opts.port}
base_dir = ${baseDir}
state_dir = ${join(dir, 'state')}
log_path = ${logFile}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = ${uid}
last_valid_uid = ${uid}
first_valid_gid = ${gid}
last_valid_gid = ${gid}
mail_location = maildir:${maildir}
pop3_uidl_format = %08Xu%08Xv
# No stats process: a login process otherwise waits 5 s for the stats-writer handshake while the master shuts down.
stats_writer_socket_path =
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${passwd}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${home}
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${opts.port}
  }
  inet_listener pop3s {
    port = 0
  }
}
`,
  );

  const started = await startDaemon('dovecot', ['-c', confFile]);
  if (started.code !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    throw new Error(`dovecot failed to start (${started.code}): ${started.stderr.trim()}\n${log.slice(-2000)}`);
  }
  // From here a daemon may be running: whatever fails next, it must not outlive the test process.
  let masterPid: number | null = null;
  const removeExitHook = onProcessExit(() => {
    if (masterPid !== null && alive(masterPid)) process.kill(masterPid, 'SIGKILL');
    else execFileSync('dovecot', ['-c', confFile, 'stop'], { stdio: 'ignore', timeout: 5000 });
  });
  const stopMaster = async (pid: number): Promise<void> => {
    // What `dovecot stop` does, without its wait: that one polls with kill(0), which sees the exited
    // master as alive until PID 1 reaps the zombie (~3 s here).
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    await reap(pid, 10_000);
    removeExitHook();
  };
  try {
    // `dovecot` returns once it has forked; the daemon writes master.pid a moment later.
    masterPid = await waitForPidFile(join(baseDir, 'master.pid'), logFile);
    await waitForPort(opts.port);
  } catch (err) {
    if (masterPid !== null) await stopMaster(masterPid);
    else await run('dovecot', ['-c', confFile, 'stop'], { timeoutMs: 15_000 });
    throw err;
  }
  const pid = masterPid;

  let sequence = 0;
  let stopped: Promise<void> | null = null;
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const list = (sub: string): string[] => {
    try {
      return readdirSync(join(maildir, sub));
    } catch {
      return [];
    }
  };

  return {
    port: opts.port,
    user: opts.user,
    password: opts.password,
    maildir,
    logFile,
    maildirRoute: (domain) => ({ domain, maildir, uid, gid }),
    count: () => list('new').length + list('cur').length,
    deliver(raw) {
      // Maildir delivery: write in tmp/, then rename into new/ (atomic for the reader).
      const name = `${Date.now()}.P${process.pid}Q${++sequence}.pruem-test`;
      const tmp = join(maildir, 'tmp', name);
      writeFileSync(tmp, raw, { mode: 0o600 });
      chownSync(tmp, uid, gid);
      renameSync(tmp, join(maildir, 'new', name));
    },
    log,
    stop() {
      stopped ??= stopMaster(pid);
      return stopped;
    },
  };
}
