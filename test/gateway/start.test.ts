/**
 * startGateway when one of its ports is taken: it fails with the reason, and what it had already
 * started (SMTP receiver, officers' API, pipeline, database, token) is stopped again, so the ports
 * are free and the same data folder starts cleanly once the port is.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../appliance/config/config.js';
import { startGateway } from '../../appliance/main.js';
import { freePort } from '../support/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'pruem-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

test('a taken API port: startGateway rejects with EADDRINUSE and releases everything it had started', async () => {
  const [api, smtp, officers] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      memberState: 'RO',
      dataDir: join(dir, 'RO'),
      token: { label: `pruem-start-${process.pid}` },
      listen: { api: { port: api }, smtp: { port: smtp }, officers: { port: officers } },
    }),
  );
  const config = loadConfig(join(dir, 'config.json'));
  const squatter = await occupy(api);
  try {
    await assert.rejects(startGateway(config, { log: pino({ level: 'silent' }) }), /EADDRINUSE/);
    // The SMTP receiver and the officers' API had started before the API failed: their ports are free again.
    for (const port of [smtp, officers]) await close(await occupy(port));
  } finally {
    await close(squatter);
  }
  // Database and token were closed too: the same data folder starts and stops normally.
  const gateway = await startGateway(config, { log: pino({ level: 'silent' }) });
  assert.equal(gateway.apiPort, api);
  assert.equal(gateway.smtpPort, smtp);
  await gateway.stop();
});
