/**
 * Nothing is silently lost from the record (issue 12 item 3, mail side): the SMTP receiver logs through the
 * daemon's logger, and a message it refuses before the queue (over the size limit) is an Art. 30 security
 * event, as is one the pipeline refuses (an unknown signer). A plain SMTP client (curl) is the peer.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../appliance/config/config.js';
import { startGateway } from '../../appliance/main.js';
import { run, runOk } from '../../appliance/util/exec.js';
import { freePort } from '../support/ports.js';
import { captureLog } from '../support/log-capture.js';
import { eventually } from '../support/gateways.js';

const dir = mkdtempSync(join(tmpdir(), 'pruem-mail-edges-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const capture = () => captureLog();

test('the SMTP receiver logs through the daemon; an oversized mail and an unknown signer are security events in the audit log', async () => {
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'at.key'), '-out', join(dir, 'at.pem'), '-days', '30', '-subj', '/C=AT/CN=at']);
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'stranger.key'), '-out', join(dir, 'stranger.pem'), '-days', '30', '-subj', '/C=AT/CN=stranger']);
  const smtpPort = await freePort();
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      memberState: 'DE',
      dataDir: join(dir, 'DE'),
      token: { label: `pruem-mail-edges-${process.pid}` },
      listen: { api: { host: '127.0.0.1', port: await freePort() }, smtp: { host: '127.0.0.1', port: smtpPort }, officers: null },
      limits: { maxMessageBytes: 32 * 1024 },
      peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') } }],
    }),
  );
  const log = capture();
  const gateway = await startGateway(loadConfig(join(dir, 'config.json')), { log: log.logger });
  try {
    const curl = (name: string, mail: string) => {
      writeFileSync(join(dir, name), mail);
      return run('curl', ['-sS', '--url', `smtp://127.0.0.1:${smtpPort}`, '--mail-from', 'ncp@dna.pruem.at.eu-admin.net', '--mail-rcpt', 'ncp@dna.pruem.de.eu-admin.net', '--upload-file', join(dir, name)]);
    };
    const headers = (id: string) => `From: ncp@dna.pruem.at.eu-admin.net\r\nTo: ncp@dna.pruem.de.eu-admin.net\r\nSubject: AT/DNA\r\nMessage-ID: <${id}>\r\nDate: ${new Date().toUTCString()}\r\n`;

    // Over the limit: refused with 552 before the queue.
    const big = await curl('big.eml', `${headers('big@at')}\r\n${'A'.repeat(64 * 1024)}\r\n`);
    assert.notEqual(big.code, 0, 'curl reports the refusal');
    assert.match(big.stderr.toString(), /552/);

    // Signed by a key DE does not know: stored, then refused by the pipeline.
    writeFileSync(join(dir, 'ping.txt'), 'Content-Type: application/x-pruem-ping\r\n\r\nPING x');
    await runOk('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', join(dir, 'ping.txt'), '-signer', join(dir, 'stranger.pem'), '-inkey', join(dir, 'stranger.key'), '-outform', 'SMIME', '-out', join(dir, 'stranger.smime')]);
    const signed = readFileSync(join(dir, 'stranger.smime'), 'utf8').replace(/\r?\n/g, '\r\n');
    const stranger = await curl('stranger.eml', `${headers('stranger@at')}${signed}`);
    assert.equal(stranger.code, 0, stranger.stderr.toString());

    const events = () =>
      (gateway.db.prepare(`SELECT leaf FROM audit_entries WHERE kind = 'admin'`).all() as Array<{ leaf: string }>)
        .map((r) => (JSON.parse(r.leaf) as { event: { action: string; target: string; details: Record<string, unknown> } }).event)
        .filter((e) => e.action === 'message-rejected');
    await eventually(() => events().some((e) => e.target === 'stranger@at'), 'the unknown signer in the audit log', 60_000);
    const oversized = events().find((e) => e.details.code === 'OVERSIZED');
    assert.match(oversized?.target ?? '', /^smtp:/);
    assert.equal(oversized?.details.senderDomain, 'dna.pruem.at.eu-admin.net');
    assert.equal(events().find((e) => e.target === 'stranger@at')?.details.code, 'UNKNOWN_SIGNER');

    // The receiver's own log lines reach the daemon's logger (they used to be discarded).
    const lines = log.lines();
    assert.ok(lines.some((l) => l.component === 'smtp-receiver' && String(l.msg).startsWith('smtp: message over size limit')), 'oversize logged');
    assert.ok(lines.some((l) => l.component === 'smtp-receiver' && l.msg === 'smtp: message stored'), 'store logged');
    assert.ok(lines.some((l) => l.msg === 'inbound-rejected' && l.code === 'UNKNOWN_SIGNER'));
  } finally {
    await gateway.stop();
  }
});
