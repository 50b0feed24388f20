/**
 * Questions on stdin for the interactive commands (`pruem provision`). Answers are read as lines
 * through the async iterator, which buffers: a script that pipes all answers at once loses none,
 * unlike rl.question(). A secret (a PIN) is typed with the terminal's echo off.
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import type { CommandIo } from './io.js';

export interface Prompter {
  /** The trimmed answer, or `def` for an empty one. `secret`: not echoed on a terminal. */
  ask(question: string, def?: string, options?: { readonly secret?: boolean }): Promise<string>;
  close(): void;
}

/**
 * Echo on or off on the controlling terminal. `stty` keeps the line discipline's canonical mode, so
 * backspace and Ctrl-C behave as at any other prompt (raw mode would take both away from the user).
 */
function setEcho(on: boolean): void {
  spawnSync('stty', [on ? 'echo' : '-echo'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

export function prompter(io: CommandIo, input: NodeJS.ReadStream = process.stdin): Prompter {
  const rl = createInterface({ input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const restoreEcho = () => setEcho(true);
  return {
    async ask(question, def, options) {
      const hide = options?.secret === true && input.isTTY === true;
      if (hide) {
        // Off before the prompt shows: whatever is typed once it is on the screen must not be echoed.
        setEcho(false);
        // An exit while the secret is being typed (Ctrl-C) must not leave the technician's terminal mute.
        process.once('exit', restoreEcho);
      }
      io.stdout.write(def ? `${question} [${def}]: ` : `${question}: `);
      let next: IteratorResult<string>;
      try {
        next = await lines.next();
      } finally {
        if (hide) {
          setEcho(true);
          process.removeListener('exit', restoreEcho);
        }
      }
      // Without echo (or without a terminal) the user's Enter was not shown: end the prompt's line ourselves.
      if (hide || !input.isTTY) io.stdout.write('\n');
      const answer = next.done ? '' : String(next.value).trim();
      return answer || def || '';
    },
    close: () => rl.close(),
  };
}
