/**
 * A real Postfix relay for integration tests and the demo network, started without systemd and without
 * touching /etc/postfix: each instance has its own configuration, queue, data folder and log inside
 * `dir`, listens on 127.0.0.1 only, never looks anything up in DNS, and routes each Prüm sub-domain to
 * a gateway's SMTP receiver on loopback (transport_maps) — the part the TESTA central relay plays.
 *
 *   const relay = await startPostfix({ dir, listenPort: await freePort(),
 *     relayRules: [{ domain: 'dna.pruem.ro.eu-admin.net', host: '127.0.0.1', port: roReceiver.port }] });
 *   … send to 127.0.0.1:relay.port …
 *   await relay.stop();   // in an after() hook
 *
 * Requirements: run as root (Postfix's master must start as root), package `postfix` installed,
 * and every folder above `dir` searchable by the `postfix` user (a fresh mkdtemp folder is made 0755 here).
 * Keep `dir` short: Postfix's unix sockets live under it and a socket path is limited to 107 bytes.
 *
 * Postfix quirks met on the way (Postfix 3.7, Debian 12):
 * - Several instances side by side need their own queue_directory AND data_directory: the master's
 *   pid file is in the former, its lock file (master.lock) in the latter. multi_instance_enable /
 *   postmulti are not used — they need the instance registered in /etc/postfix/main.cf. As root,
 *   `postfix -c DIR` and `postqueue -c DIR` accept any config folder (for another user it would have to
 *   be listed in alternate_config_directories of the default main.cf).
 * - Without syslog (/dev/log is absent here), `postfix start` exits 1 without a word unless
 *   maillog_file is set AND its folder is listed in maillog_file_prefixes; the log then goes through
 *   the postlog service, which must be in master.cf.
 * - Every service runs with chroot = n: a chroot would need copies of /etc files inside the queue folder.
 * - Postfix refuses to deliver to an SMTP server that greets with Postfix's own myhostname ("mail for …
 *   loops back to myself"), so each instance gets its own myhostname, which must differ from the
 *   receiver's greeting name (startSmtpReceiver's serverName).
 * - `postfix start` takes ~2 s (its postfix-script checks the installation); `stop` ~30 ms.
 * - The copied config folder holds a symlink (makedefs.out) that Postfix warns about; it is copied dereferenced.
 * - Deferred mail is retried only after minimal_backoff_time (300 s by default); tests get 1 s.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runOk } from '../../../appliance/util/exec.js';
import { waitForPort } from '../../support/ports.js';

export interface RelayRule {
  /** A mail domain, e.g. dna.pruem.ro.eu-admin.net; mail for it goes to host:port over SMTP. */
  readonly domain: string;
  readonly host: string;
  readonly port: number;
}

/** A domain Postfix delivers itself, into a maildir (for POP3 retrieval by Dovecot). */
export interface MaildirRoute {
  readonly domain: string;
  /** Absolute path of the maildir (the folder holding cur/ new/ tmp/). Every address of the domain lands in it. */
  readonly maildir: string;
  /** Owner of the files Postfix writes; must be the uid/gid the POP3 server reads them as. */
  readonly uid: number;
  readonly gid: number;
}

export interface PostfixOptions {
  /** Private folder of this instance (created if missing). */
  readonly dir: string;
  /** SMTP port on 127.0.0.1 where this relay accepts mail. */
  readonly listenPort: number;
  readonly relayRules: readonly RelayRule[];
  readonly localMaildirDomains?: readonly MaildirRoute[];
  /** myhostname; default relay-<listenPort>.pruem.test. */
  readonly hostname?: string;
  /** message_size_limit in bytes; default Postfix's 10240000. */
  readonly messageSizeLimit?: number;
  /** Seconds between retries of deferred mail (minimal_backoff_time and queue_run_delay); default 1. */
  readonly retrySeconds?: number;
  /** Further main.cf parameters, written last (they win). */
  readonly extraMainCf?: Readonly<Record<string, string>>;
}

export interface PostfixQueueEntry {
  readonly queueId: string;
  readonly queueName: string;
  readonly sender: string;
  readonly recipients: ReadonlyArray<{ readonly address: string; readonly delayReason?: string }>;
}

export interface PostfixInstance {
  readonly port: number;
  readonly dir: string;
  readonly configDir: string;
  readonly queueDir: string;
  /** Postfix's own log (maillog_file). */
  readonly logFile: string;
  readonly hostname: string;
  /** The log so far ('' if none yet). */
  log(): string;
  /** Resolves with the first log line matching `pattern` (searching the whole log), or rejects after timeoutMs. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** postqueue -j: the messages still queued. */
  queue(): Promise<PostfixQueueEntry[]>;
  /** postqueue -f: retry deferred mail now. */
  flush(): Promise<void>;
  /** Polls the queue until it is empty, or rejects after timeoutMs with what is left. */
  waitForEmptyQueue(timeoutMs?: number): Promise<void>;
  /** Stops the master and its children; safe to call twice. The folder is left for the caller to remove. */
  stop(): Promise<void>;
}

/**
 * True while a process with this pid runs. A daemon's master is re-parented to PID 1 when it
 * daemonizes, and an exited one stays a zombie until PID 1 reaps it (seconds, on this VM), so a
 * zombie counts as gone.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Reads a daemon's pid file once it has been written; rejects after timeoutMs with the daemon's log tail. */
export async function waitForPidFile(file: string, logFile: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 1) return pid;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '(no log)';
      throw new Error(`${file} not written within ${timeoutMs} ms; log tail:\n${log}`);
    }
    await sleep(25);
  }
}

/** Waits for `pid` to exit; SIGKILLs it after graceMs. Only ever called with a pid we started. */
export async function reap(pid: number, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(25);
  if (alive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(25);
  }
}

/**
 * Runs a command that daemonizes (`postfix start`, `dovecot`) and resolves when it exits. Not run():
 * execFile waits for the output pipes to close, and a daemon that inherits them keeps them open
 * (Dovecot for ~15 s). Here stdout is not connected and stderr is read only until the exit.
 */
export function startDaemon(command: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      child.stderr.destroy();
      resolvePromise({ code: code ?? (signal ? 128 : 1), stderr });
    });
  });
}

/**
 * Stop hooks for servers still running when the test process exits (a failed before(), a crash):
 * run synchronously from process 'exit', so no daemon outlives its test run.
 */
const exitHooks = new Set<() => void>();
let exitHookInstalled = false;
export function onProcessExit(hook: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const h of exitHooks) {
        try {
          h();
        } catch {
          // best effort while exiting
        }
      }
    });
  }
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

/** Mail daemons drop root (Postfix runs as `postfix`, Dovecot's mail process as the mail uid) and must still reach `dir`. */
export function checkSearchable(dir: string, who = 'Postfix (user postfix)'): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) throw new Error(`${d} is not searchable by other users; ${who} cannot reach ${dir}`);
    if (d === dirname(d)) break;
  }
}

function postfixIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postfix:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new Error('user postfix not found: install the postfix package');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Services needed for relaying and virtual(8) maildir delivery; nothing local, nothing chrooted. */
function masterCf(port: number): string {
  const rows: Array<[string, string, string, string, string, string, string, string?]> = [
    [`127.0.0.1:${port}`, 'inet', 'n', '-', 'n', '-', '-', 'smtpd'],
    ['pickup', 'unix', 'n', '-', 'n', '60', '1', 'pickup'],
    ['cleanup', 'unix', 'n', '-', 'n', '-', '0', 'cleanup'],
    ['qmgr', 'unix', 'n', '-', 'n', '300', '1', 'qmgr'],
    ['rewrite', 'unix', '-', '-', 'n', '-', '-', 'trivial-rewrite'],
    ['bounce', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['defer', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['trace', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['verify', 'unix', '-', '-', 'n', '-', '1', 'verify'],
    ['flush', 'unix', 'n', '-', 'n', '1000?', '0', 'flush'],
    ['proxymap', 'unix', '-', '-', 'n', '-', '-', 'proxymap'],
    ['smtp', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['relay', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['showq', 'unix', 'n', '-', 'n', '-', '-', 'showq'],
    ['error', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['retry', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['discard', 'unix', '-', '-', 'n', '-', '-', 'discard'],
    ['virtual', 'unix', '-', 'n', 'n', '-', '-', 'virtual'],
    ['anvil', 'unix', '-', '-', 'n', '-', '1', 'anvil'],
    ['scache', 'unix', '-', '-', 'n', '-', '1', 'scache'],
    ['postlog', 'unix-dgram', 'n', '-', 'n', '-', '1', 'postlogd'],
  ];
  return `# written by test/integration/support/postfix.ts\n${rows.map((r) => r.join('\t')).join('\n')}\n`;
}

const DOMAIN = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i;

export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  const dir = resolve(opts.dir);
  const configDir = join(dir, 'conf');
  const queueDir = join(dir, 'queue');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postfix.log');
  const hostname = opts.hostname ?? `relay-${opts.listenPort}.pruem.test`;
  const retry = opts.retrySeconds ?? 1;
  const maildirs = opts.localMaildirDomains ?? [];
  for (const d of [...opts.relayRules.map((r) => r.domain), ...maildirs.map((m) => m.domain)]) {
    if (!DOMAIN.test(d)) throw new Error(`not a domain name: ${JSON.stringify(d)}`);
  }

  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  checkSearchable(dir);
  if (existsSync(join(queueDir, 'pid', 'master.pid'))) throw new Error(`${dir} already holds a Postfix queue; use a fresh folder`);
  // The packaged folder (postfix-files, dynamicmaps.cf, …), then our own main.cf and master.cf over it.
  cpSync('/etc/postfix', configDir, { recursive: true, dereference: true });
  mkdirSync(queueDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const ids = postfixIds();
  chownSync(dataDir, ids.uid, ids.gid); // Postfix's data_directory must belong to mail_owner

  const table = (name: string, rows: string[]): string => {
    const file = join(configDir, name);
    writeFileSync(file, rows.length ? `${rows.join('\n')}\n` : '');
    return `texthash:${file}`; // texthash: read as text, no postmap step
  };
  const transport = table('transport', opts.relayRules.map((r) => `${r.domain}\tsmtp:[${r.host}]:${r.port}`));
  // virtual(8) prepends virtual_mailbox_base to every map result; with "/" the results are absolute paths
  // (without their leading slash). A trailing "/" makes it a maildir.
  const mailboxes = table('vmailbox', maildirs.map((m) => `@${m.domain}\t${resolve(m.maildir).replace(/^\/+/, '').replace(/\/*$/, '/')}`));
  const uids = table('vuid', maildirs.map((m) => `@${m.domain}\t${m.uid}`));
  const gids = table('vgid', maildirs.map((m) => `@${m.domain}\t${m.gid}`));

  const main: Record<string, string> = {
    compatibility_level: '3.6',
    myhostname: hostname,
    mydomain: 'pruem.test',
    myorigin: '$myhostname',
    // Nothing is delivered locally; only relayed (transport_maps) or put in a maildir (virtual).
    mydestination: '',
    local_recipient_maps: '',
    local_transport: 'error:local delivery is disabled',
    alias_maps: '',
    alias_database: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    queue_directory: queueDir,
    data_directory: dataDir,
    meta_directory: configDir,
    maillog_file: logFile,
    maillog_file_prefixes: dir,
    syslog_name: `postfix-${opts.listenPort}`,
    // Like the TESTA relay: relay only to the Prüm domains it knows; anything else is refused at RCPT.
    relay_domains: opts.relayRules.map((r) => r.domain).join(', '),
    transport_maps: transport,
    smtpd_relay_restrictions: 'reject_unauth_destination',
    virtual_mailbox_domains: maildirs.map((m) => m.domain).join(', '),
    virtual_mailbox_base: '/',
    virtual_mailbox_maps: mailboxes,
    virtual_uid_maps: uids,
    virtual_gid_maps: gids,
    virtual_minimum_uid: '1',
    virtual_mailbox_limit: '0',
    // No DNS: nexthops are [ip]:port literals, client names are not looked up.
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtpd_peername_lookup: 'no',
    smtpd_tls_security_level: 'none',
    smtp_tls_security_level: 'none',
    smtputf8_enable: 'no',
    default_transport: 'error:no route to this domain',
    relay_transport: 'smtp',
    append_dot_mydomain: 'no',
    recipient_delimiter: '',
    biff: 'no',
    in_flow_delay: '0',
    smtp_connect_timeout: '5s',
    queue_run_delay: `${retry}s`,
    minimal_backoff_time: `${retry}s`,
    maximal_backoff_time: `${retry * 2}s`,
    ...(opts.messageSizeLimit ? { message_size_limit: String(opts.messageSizeLimit) } : {}),
    ...opts.extraMainCf,
  };
  writeFileSync(join(configDir, 'main.cf'), `# written by test/integration/support/postfix.ts\n${Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  writeFileSync(join(configDir, 'master.cf'), masterCf(opts.listenPort));

  const pidFile = join(queueDir, 'pid', 'master.pid');
  const readPid = (): number | null => {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
    } catch {
      return null;
    }
  };

  const started = await startDaemon('postfix', ['-c', configDir, 'start']);
  if (started.code !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    throw new Error(`postfix start failed (${started.code}): ${started.stderr.trim()}\n${log.slice(-2000)}`);
  }
  // From here a master may be running: whatever fails next, it must not outlive the test process.
  let masterPid: number | null = readPid();
  const removeExitHook = onProcessExit(() => {
    execFileSync('postfix', ['-c', configDir, 'abort'], { stdio: 'ignore', timeout: 5000 });
    if (masterPid !== null && alive(masterPid)) process.kill(masterPid, 'SIGKILL');
  });
  const stopMaster = async (): Promise<void> => {
    await run('postfix', ['-c', configDir, 'stop'], { timeoutMs: 15_000 });
    if (masterPid !== null) await reap(masterPid, 10_000);
    removeExitHook();
  };
  try {
    masterPid ??= await waitForPidFile(pidFile, logFile);
    await waitForPort(opts.listenPort);
  } catch (err) {
    await stopMaster();
    throw err;
  }

  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let stopped: Promise<void> | null = null;

  const instance: PostfixInstance = {
    port: opts.listenPort,
    dir,
    configDir,
    queueDir,
    logFile,
    hostname,
    log,
    async waitForLog(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = log().split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} in ${timeoutMs} ms; log tail:\n${log().slice(-1500)}`);
        await sleep(50);
      }
    },
    async queue() {
      const out = (await runOk('postqueue', ['-c', configDir, '-j'])).toString('utf8');
      return out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          const j = JSON.parse(l) as { queue_id: string; queue_name: string; sender: string; recipients: Array<{ address: string; delay_reason?: string }> };
          return {
            queueId: j.queue_id,
            queueName: j.queue_name,
            sender: j.sender,
            recipients: j.recipients.map((r) => ({ address: r.address, ...(r.delay_reason ? { delayReason: r.delay_reason } : {}) })),
          };
        });
    },
    async flush() {
      await runOk('postqueue', ['-c', configDir, '-f']);
    },
    async waitForEmptyQueue(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const q = await instance.queue();
        if (q.length === 0) return;
        if (Date.now() > deadline) throw new Error(`Postfix queue not empty after ${timeoutMs} ms: ${JSON.stringify(q)}`);
        await sleep(100);
      }
    },
    stop() {
      stopped ??= stopMaster();
      return stopped;
    },
  };
  return instance;
}
