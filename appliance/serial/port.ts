/**
 * The serial line (default /dev/ttyS0, 115200 8N1) under a SerialSession: bytes to lines with echo and
 * backspace, nothing echoed for secrets. The device is opened by its configured path (SerialPort.list()
 * needs udev, and ptys are not listed anyway). When the line goes away (cable pulled, USB adapter
 * unplugged, pty closed) the session ends (signed out) and the port is reopened every second until the
 * device is back; then a new session starts.
 */
import { StringDecoder } from 'node:string_decoder';
import { SerialPort } from 'serialport';
import { SerialSession, type SerialDeps } from './session.js';

export interface SerialConsoleOptions {
  readonly device: string;
  readonly baudRate: number;
  readonly reopenMs?: number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
}

export interface SerialConsole {
  /** Whether the device is open now. */
  readonly isOpen: boolean;
  /** Resolves once the device is open (again). */
  opened(): Promise<void>;
  close(): Promise<void>;
}

export function startSerialConsole(opts: SerialConsoleOptions, deps: SerialDeps): SerialConsole {
  const log = opts.log ?? (() => undefined);
  let port: SerialPort | null = null;
  let session: SerialSession | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let waiters: Array<() => void> = [];
  let buffer = '';
  let lastWasCr = false;
  let failures = 0;
  let decoder = new StringDecoder('utf8');

  const endSession = () => {
    session?.close();
    session = null;
    buffer = '';
    decoder = new StringDecoder('utf8');
  };

  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      open();
    }, opts.reopenMs ?? 1_000);
  };

  const onData = (chunk: Buffer) => {
    const s = session;
    const p = port;
    if (!s || !p) return;
    let echo = '';
    // A character's bytes may arrive in two chunks (115200 baud, any read size): decoded across them.
    for (const ch of decoder.write(chunk)) {
      if (ch === '\r' || ch === '\n') {
        // CR LF, LF CR and a lone CR or LF all end one line.
        if (ch === '\n' && lastWasCr) {
          lastWasCr = false;
          continue;
        }
        lastWasCr = ch === '\r';
        echo += '\r\n';
        const line = buffer;
        buffer = '';
        if (echo) p.write(echo);
        echo = '';
        void s.input(line);
        continue;
      }
      lastWasCr = false;
      if (ch === '\x7f' || ch === '\b') {
        if (buffer.length) {
          buffer = buffer.slice(0, -1);
          if (!s.secretInput) echo += '\b \b';
        }
        continue;
      }
      if (ch === '\x03') {
        // Ctrl-C: drop the line being typed.
        buffer = '';
        echo += '^C\r\n';
        continue;
      }
      if (ch < ' ') continue;
      if (buffer.length < 512) {
        buffer += ch;
        if (!s.secretInput) echo += ch;
      }
    }
    if (echo) p.write(echo);
  };

  const open = () => {
    if (stopped) return;
    const p = new SerialPort({ path: opts.device, baudRate: opts.baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    p.open((err) => {
      if (err) {
        if (failures++ % 60 === 0) log('serial.open-failed', { device: opts.device, reason: err.message });
        schedule();
        return;
      }
      if (stopped) {
        p.close();
        return;
      }
      failures = 0;
      port = p;
      log('serial.open', { device: opts.device, baudRate: opts.baudRate });
      session = new SerialSession(deps, (text) => {
        if (port === p && p.isOpen) p.write(text);
      });
      p.on('data', onData);
      const lost = (why: string) => {
        if (port !== p) return;
        port = null;
        endSession();
        log('serial.lost', { device: opts.device, reason: why });
        if (p.isOpen) p.close(() => undefined);
        schedule();
      };
      p.on('close', () => lost('closed'));
      p.on('error', (e: Error) => lost(e.message));
      session.start();
      for (const w of waiters.splice(0)) w();
    });
  };

  open();
  return {
    get isOpen() {
      return port !== null;
    },
    opened() {
      return port ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      endSession();
      const p = port;
      port = null;
      waiters = [];
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    },
  };
}
