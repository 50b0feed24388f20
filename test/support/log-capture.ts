import { Writable } from 'node:stream';
import pino from 'pino';

/** A pino logger whose lines the test reads back (the daemon's logger, given to startGateway). */
export function captureLog(level: pino.Level = 'info'): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level }, stream), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}
