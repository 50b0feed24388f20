import { execFile } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/**
 * What a child process may inherit from the daemon's environment: what tools need to run and to
 * find their configuration. Everything else stays behind — in particular a token PIN or POP3
 * password given as an environment variable (`{ "env": … }` in the configuration).
 */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'SOFTHSM2_CONF', 'OPENSSL_CONF', 'OPENSSL_MODULES'] as const;

/** The environment for a child process: the allowed variables of ours, plus `extra` (names of ours to pass, or values). */
export function childEnvironment(extra: { readonly pass?: readonly string[]; readonly set?: Readonly<Record<string, string>> } = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...INHERITED, ...(extra.pass ?? [])]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra.set };
}

/**
 * Runs a command-line tool (openssl, xmllint, xmlsec1…) with an argument array, optional stdin,
 * and a timeout. Success is judged by the exit code only: OpenSSL 3 prints its success messages
 * on stderr ("CMS Verification successful"), which is why we do not use openssl-wrapper.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: Uint8Array | string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
        timeout: options.timeoutMs ?? 60_000,
        // Only what the tool needs (childEnvironment), never the daemon's whole environment.
        env: options.env ?? childEnvironment(),
        cwd: options.cwd,
      },
      (error, stdout, stderr) => {
        if (error && typeof (error as NodeJS.ErrnoException).code === 'string') {
          reject(error); // spawn failure (ENOENT…), not a non-zero exit
          return;
        }
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr.toString('utf8') });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Like run(), but rejects with the tool's stderr when it exits non-zero. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: Parameters<typeof run>[2] = {},
): Promise<Buffer> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args[0] ?? ''} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
