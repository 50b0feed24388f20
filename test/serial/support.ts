/**
 * A null-modem cable for tests: a socat pty pair, one end for the serial console, the other for the
 * technician's terminal (a SerialPort opened here). Killing socat is pulling the cable; starting it
 * again with the same link names is plugging it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { SerialPort } from 'serialport';

export interface Cable {
  readonly console: string;
  readonly terminal: string;
  pull(): Promise<void>;
  plug(): Promise<void>;
}

export async function cable(consolePath: string, terminalPath: string): Promise<Cable> {
  let child: ChildProcess | null = null;
  const plug = async () => {
    child = spawn('socat', [`pty,raw,echo=0,link=${consolePath}`, `pty,raw,echo=0,link=${terminalPath}`], { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    while (!(existsSync(consolePath) && existsSync(terminalPath))) {
      if (Date.now() > until) throw new Error('socat did not create the pty pair');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const pull = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    await exited;
  };
  await plug();
  return { console: consolePath, terminal: terminalPath, pull, plug };
}

/** The technician's side: writes lines, waits for text on the screen. */
export class Terminal {
  private screen = '';
  private mark = 0;
  private constructor(private readonly port: SerialPort) {
    port.on('data', (d: Buffer) => (this.screen += d.toString('utf8')));
  }

  static async open(path: string): Promise<Terminal> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    return new Terminal(port);
  }

  send(line: string): void {
    this.port.write(`${line}\r`);
  }

  /** Waits until `pattern` appears after the last match; returns the text up to and including it. */
  async expect(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.screen.slice(this.mark);
      const m = pattern.exec(rest);
      if (m) {
        this.mark += m.index + m[0].length;
        return rest.slice(0, m.index + m[0].length);
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern} on the serial line; screen since last match:\n${rest}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  all(): string {
    return this.screen;
  }

  async close(): Promise<void> {
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
