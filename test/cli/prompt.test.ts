/**
 * The interactive prompts on a real terminal: `script` gives the child a pseudo-terminal, so the
 * line discipline echoes what is typed unless the prompt turned echo off. A PIN must not appear on
 * the screen; an ordinary answer must.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROMPT_MODULE = fileURLToPath(new URL('../../appliance/cli/prompt.ts', import.meta.url));

const CHILD = `
import { prompter } from ${JSON.stringify(PROMPT_MODULE)};
const p = prompter({ stdout: process.stdout, stderr: process.stderr });
const pin = await p.ask('User PIN', undefined, { secret: true });
const name = await p.ask('Agency');
p.close();
process.stdout.write('got pin of ' + pin.length + ' characters, agency ' + name + '\\n');
`;

/** Runs the child on a pseudo-terminal; types each answer once the screen shows its prompt. */
function onTerminal(script: string, answers: Array<[prompt: string, typed: string]>): Promise<string> {
  const child = spawn('script', ['-q', '-e', '-c', `node --import tsx ${script}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let screen = '';
  let next = 0;
  child.stdout.on('data', (b: Buffer) => {
    screen += b.toString('utf8');
    while (next < answers.length && screen.includes(`${answers[next]![0]}: `)) {
      // Typed only after the prompt is on the screen: the prompt has switched echo off by then.
      child.stdin.write(`${answers[next]![1]}\r`);
      next++;
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(screen) : reject(new Error(`exit ${code}: ${screen}`))));
  });
}

test('a PIN typed at a terminal prompt is not echoed; an ordinary answer is, and echo is back after the PIN', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-prompt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.mts');
  writeFileSync(script, CHILD);
  const screen = await onTerminal(script, [['User PIN', 'S3cretPin'], ['Agency', 'Politia-Romana']]);
  assert.match(screen, /got pin of 9 characters, agency Politia-Romana/);
  assert.ok(!screen.includes('S3cretPin'), `the PIN appeared on the terminal:\n${screen}`);
  // The agency appears twice: echoed as typed, and in the child's summary line.
  assert.equal(screen.split('Politia-Romana').length - 1, 2, screen);
});
