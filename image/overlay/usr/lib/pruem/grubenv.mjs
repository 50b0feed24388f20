#!/usr/lib/pruem/node/bin/node
// Reads and writes the GRUB environment block (a 1024-byte file GRUB itself updates with save_env)
// in place, so the A/B slot and boot counter need no grub-editenv (grub-common) in the image.
//   grubenv.mjs FILE get NAME | list | set NAME=VALUE…
import { openSync, readSync, writeSync, fsyncSync, closeSync } from 'node:fs';
const [file, cmd, ...args] = process.argv.slice(2);
const HEADER = '# GRUB Environment Block\n';
const fd = openSync(file, cmd === 'set' ? 'r+' : 'r');
const buf = Buffer.alloc(1024);
readSync(fd, buf, 0, 1024, 0);
const text = buf.toString('latin1');
if (!text.startsWith(HEADER)) throw new Error(`${file}: not a GRUB environment block`);
const vars = new Map();
for (const line of text.slice(HEADER.length).split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const i = line.indexOf('=');
  if (i > 0) vars.set(line.slice(0, i), line.slice(i + 1));
}
if (cmd === 'get') process.stdout.write((vars.get(args[0]) ?? '') + '\n');
else if (cmd === 'list') for (const [k, v] of vars) process.stdout.write(`${k}=${v}\n`);
else if (cmd === 'set') {
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0 || /[\n\\]/.test(a)) throw new Error(`bad assignment ${a}`);
    vars.set(a.slice(0, i), a.slice(i + 1));
  }
  let body = HEADER + [...vars].map(([k, v]) => `${k}=${v}\n`).join('');
  if (body.length > 1024) throw new Error('environment block full');
  body += '#'.repeat(1024 - body.length);
  writeSync(fd, Buffer.from(body, 'latin1'), 0, 1024, 0);
  fsyncSync(fd);
} else throw new Error('usage: grubenv.mjs FILE get NAME | list | set NAME=VALUE…');
closeSync(fd);
