#!/usr/lib/pruem/node/bin/node
// Exit 0 when the gateway's GET /api/health answers 200 on this box (HTTPS with its own
// self-signed certificate on a non-loopback address, plain HTTP on loopback).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
let port = 8080;
try {
  const cfg = JSON.parse(readFileSync('/var/lib/pruem/gateway/config.json', 'utf8'));
  port = cfg?.listen?.api?.port ?? 8080;
} catch {}
if (process.argv.includes('--port')) {
  process.stdout.write(`${port}\n`);
  process.exit(0);
}
const get = (mod) =>
  new Promise((res) => {
    const req = mod.get({ host: '127.0.0.1', port, path: '/api/health', rejectUnauthorized: false, timeout: 5000 }, (r) => {
      r.resume();
      res(r.statusCode);
    });
    req.on('error', () => res(0));
    req.on('timeout', () => { req.destroy(); res(0); });
  });
const code = (await get(https)) || (await get(http));
process.stdout.write(`health ${code}\n`);
process.exit(code === 200 ? 0 : 1);
