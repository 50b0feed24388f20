/**
 * The mail edges against real servers on loopback:
 *  - our SMTP sender → a real Postfix relay (transport_maps per Prüm sub-domain) → our SMTP receiver;
 *  - our sender → Postfix → maildir → a real Dovecot → our POP3 fetcher.
 * Two Postfix instances run side by side, as the demo network needs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startSmtpReceiver, type SmtpReceiver } from '../../appliance/transport/mail/receiver.js';
import { buildMailMessage, createSmtpSender, type SmtpSender } from '../../appliance/transport/mail/sender.js';
import { createPop3Fetcher } from '../../appliance/transport/mail/pop3.js';
import type { MailEnvelope, StoreResult } from '../../appliance/transport/mail/types.js';
import { startPostfix, type PostfixInstance } from './support/postfix.js';
import { freePort } from '../support/ports.js';
import { startDovecot, type DovecotInstance } from './support/dovecot.js';

const RO_DNA = 'dna.pruem.ro.eu-admin.net';
const DE_DNA = 'dna.pruem.de.eu-admin.net';
const RO_FP = 'fp.pruem.ro.eu-admin.net';
const RO = `ncp@${RO_DNA}`;
const DE = `ncp@${DE_DNA}`;
const MAX = 64 * 1024;

/** A receiver's store that records messages and can be told to fail. */
class Inbox {
  readonly messages: Array<{ raw: Buffer; envelope: MailEnvelope }> = [];
  answer: (raw: Buffer) => StoreResult = () => ({ ok: true, id: `in-${this.messages.length}` });
  private waiters: Array<() => void> = [];

  readonly store = async (raw: Buffer, envelope: MailEnvelope): Promise<StoreResult> => {
    const result = this.answer(raw);
    if (result.ok) this.messages.push({ raw, envelope });
    for (const w of this.waiters.splice(0)) w();
    return result;
  };

  /** Resolves with the first stored message whose bytes contain `marker`. */
  async waitFor(marker: string, timeoutMs = 20_000): Promise<{ raw: Buffer; envelope: MailEnvelope }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => m.raw.includes(marker));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no message containing ${marker} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  count(marker: string): number {
    return this.messages.filter((m) => m.raw.includes(marker)).length;
  }
}

function smime(from: string, to: string, marker: string, bytes = 3000): Buffer {
  // A stand-in for a CMS SignedData: the relay must carry it untouched, whatever it is.
  const body = Buffer.concat([Buffer.from(marker), Buffer.alloc(bytes, 0xa5)]).toString('base64');
  return buildMailMessage({
    from,
    to: [to],
    subject: 'DE/CPS',
    messageId: `${marker}@${from.split('@')[1]}`,
    date: new Date(),
    contentType: 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m',
    body,
    extraHeaders: { 'Content-Disposition': 'attachment; filename=smime.p7m' },
  });
}

describe('mail edges through real Postfix and Dovecot', () => {
  let work: string;
  const roInbox = new Inbox();
  const deInbox = new Inbox();
  let ro: SmtpReceiver | undefined;
  let de: SmtpReceiver | undefined;
  let late: SmtpReceiver | undefined;
  let latePort: number;
  let relayA: PostfixInstance | undefined;
  let relayB: PostfixInstance | undefined;
  let pop: DovecotInstance | undefined;
  let viaA: SmtpSender;
  let viaB: SmtpSender;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'mail-it-'));
    chmodSync(work, 0o755); // the mail daemons drop root and must reach their folders inside
    ro = await startSmtpReceiver({ host: '127.0.0.1', port: 0, maxMessageBytes: MAX, acceptedDomains: [RO_DNA], store: roInbox.store, serverName: 'gw-ro.test', closeTimeoutMs: 1000 });
    de = await startSmtpReceiver({ host: '127.0.0.1', port: 0, maxMessageBytes: MAX, acceptedDomains: [DE_DNA], store: deInbox.store, serverName: 'gw-de.test', closeTimeoutMs: 1000 });
    latePort = await freePort(); // a gateway that is down at first
    pop = await startDovecot({ dir: join(work, 'dovecot'), port: await freePort(), user: 'gwtest', password: 'pop-secret' });
    [relayA, relayB] = await Promise.all([
      startPostfix({
        dir: join(work, 'pfA'),
        listenPort: await freePort(),
        relayRules: [
          { domain: RO_DNA, host: '127.0.0.1', port: ro.port },
          { domain: DE_DNA, host: '127.0.0.1', port: de.port },
          { domain: 'dna.pruem.fr.eu-admin.net', host: '127.0.0.1', port: latePort },
        ],
        localMaildirDomains: [pop.maildirRoute(RO_FP)],
      }),
      startPostfix({ dir: join(work, 'pfB'), listenPort: await freePort(), relayRules: [{ domain: RO_DNA, host: '127.0.0.1', port: ro.port }] }),
    ]);
    viaA = createSmtpSender({ host: '127.0.0.1', port: relayA.port, heloName: 'gw-de.test', timeoutMs: 10_000 });
    viaB = createSmtpSender({ host: '127.0.0.1', port: relayB.port, heloName: 'gw-de.test', timeoutMs: 10_000 });
  });

  after(async () => {
    viaA?.close();
    viaB?.close();
    // Each stop is attempted even if another fails, so nothing outlives the test.
    const results = await Promise.allSettled([relayA?.stop(), relayB?.stop(), pop?.stop(), ro?.close(), de?.close(), late?.close()]);
    if (process.env.KEEP_MAIL_TEST_DIR) console.log(`kept ${work}`);
    else if (work) rmSync(work, { recursive: true, force: true });
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  });

  test('two Postfix instances run side by side, each with its own queue and log', async () => {
    assert.notEqual(relayA!.queueDir, relayB!.queueDir);
    await relayA!.waitForLog(/daemon started -- version 3\.\d+\.\d+, configuration .*pfA\/conf/);
    await relayB!.waitForLog(/daemon started -- version 3\.\d+\.\d+, configuration .*pfB\/conf/);
  });

  test('sender → Postfix → receiver: routed by sub-domain, bytes intact, envelope kept', async (t) => {
    const marker = `m-${randomUUID()}`;
    const toDe = `d-${randomUUID()}`;
    const msg = smime(DE, RO, marker);
    const started = Date.now();
    const sent = await viaA.send({ from: DE, to: [RO], raw: msg });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    if (sent.ok) assert.match(sent.response, /^250 2\.0\.0 Ok: queued as/);
    const got = await roInbox.waitFor(marker);
    t.diagnostic(`sender → Postfix → receiver: ${Date.now() - started} ms`);
    // Postfix adds its Received: line above ours' … and the message follows unchanged.
    assert.ok(got.raw.subarray(got.raw.length - msg.length).equals(msg), 'message bytes unchanged by the relay');
    assert.match(got.raw.toString('latin1'), /^Received: from relay-\d+\.pruem\.test/);
    assert.match(got.raw.toString('latin1'), new RegExp(`by ${relayA!.hostname.replace(/\./g, '\\.')} \\(Postfix\\)`));
    assert.equal(got.envelope.mailFrom, DE);
    assert.deepEqual(got.envelope.rcptTo, [RO]);
    assert.equal(got.envelope.remoteAddress, '127.0.0.1');

    const back = await viaA.send({ from: RO, to: [DE], raw: smime(RO, DE, toDe) });
    assert.equal(back.ok, true);
    await deInbox.waitFor(toDe);
    assert.equal(roInbox.count(toDe), 0, 'routed by domain, not broadcast');
  });

  test('a burst through the relay arrives exactly once per message', async (t) => {
    const n = 50;
    const markers = Array.from({ length: n }, (_, i) => `burst${i}-${randomUUID()}`);
    const started = Date.now();
    const results = await Promise.all(markers.map((m) => viaA.send({ from: DE, to: [RO], raw: smime(DE, RO, m) })));
    const accepted = Date.now();
    assert.ok(results.every((r) => r.ok), JSON.stringify(results.find((r) => !r.ok)));
    for (const m of markers) await roInbox.waitFor(m);
    const done = Date.now();
    t.diagnostic(`${n} messages of ~4 KB: relay accepted them in ${accepted - started} ms, all stored after ${done - started} ms (${Math.round((n * 1000) / (done - started))} msg/s end to end)`);
    for (const m of markers) assert.equal(roInbox.count(m), 1, m);
    await relayA!.waitForEmptyQueue(); // Postfix removes its queue files just after the 250
  });

  test('the second relay delivers too', async () => {
    const marker = `b-${randomUUID()}`;
    const r = await viaB.send({ from: DE, to: [RO], raw: smime(DE, RO, marker) });
    assert.equal(r.ok, true, JSON.stringify(r));
    const got = await roInbox.waitFor(marker);
    assert.match(got.raw.toString('latin1'), new RegExp(relayB!.hostname.replace(/\./g, '\\.')));
  });

  test('the relay refuses a domain it has no route for: a permanent failure for the sender', async () => {
    const r = await viaA.send({ from: DE, to: ['ncp@dna.pruem.xx.eu-admin.net'], raw: smime(DE, 'ncp@dna.pruem.xx.eu-admin.net', 'x') });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.permanent, true);
      assert.equal(r.code, 554);
      assert.match(r.reason, /Relay access denied/);
    }
  });

  test('a store failure answers 451: Postfix keeps the message and delivers it once the store works', async () => {
    const marker = `t-${randomUUID()}`;
    let refusals = 0;
    roInbox.answer = (raw) => {
      if (raw.includes(marker)) {
        refusals++;
        return { ok: false, reason: 'inbox database busy', permanent: false };
      }
      return { ok: true, id: 'x' };
    };
    try {
      assert.equal((await viaA.send({ from: DE, to: [RO], raw: smime(DE, RO, marker) })).ok, true);
      await relayA!.waitForLog(/status=deferred .*451 4\.3\.0 Temporary failure, try again later: inbox database busy/);
      // Postfix retries every second here, so the message moves between the deferred and active queues:
      // poll until it is seen waiting with our reply as the reason.
      const deadline = Date.now() + 10_000;
      let waiting: Awaited<ReturnType<PostfixInstance['queue']>> = [];
      while (waiting.length === 0 && Date.now() < deadline) {
        waiting = (await relayA!.queue()).filter((q) => q.recipients.some((r) => /451 4\.3\.0 .*inbox database busy/.test(r.delayReason ?? '')));
      }
      assert.equal(waiting.length, 1, 'held in the relay queue with the 451 as the reason');
      assert.equal(roInbox.count(marker), 0);
    } finally {
      roInbox.answer = (raw) => ({ ok: true, id: `in-${raw.length}` });
    }
    await relayA!.flush();
    await roInbox.waitFor(marker);
    await relayA!.waitForEmptyQueue();
    assert.ok(refusals >= 1);
    assert.equal(roInbox.count(marker), 1, 'delivered exactly once');
  });

  test('an oversized message: the receiver refuses it with 552, the relay bounces it to its sender, and the receiver keeps serving', async () => {
    const big = `big-${randomUUID()}`;
    const small = `small-${randomUUID()}`;
    // Straight to the receiver: refused with 552 (at MAIL FROM, from the SIZE our sender declares), permanent.
    const direct = createSmtpSender({ host: '127.0.0.1', port: ro!.port, heloName: 'gw-de.test', pool: false });
    try {
      const r = await direct.send({ from: DE, to: [RO], raw: smime(DE, RO, big, MAX * 2) });
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual({ permanent: r.permanent, code: r.code }, { permanent: true, code: 552 });
    } finally {
      direct.close();
    }
    // Through the relay: Postfix accepts it (its own limit is 10 MB) and declares the size at MAIL FROM; our
    // receiver refuses it there with 552 (and records the refusal), and Postfix returns a non-delivery report to
    // DE's gateway through the same relay.
    assert.equal((await viaA.send({ from: DE, to: [RO], raw: smime(DE, RO, big, MAX * 2) })).ok, true);
    await relayA!.waitForLog(new RegExp(`dsn=5\\.3\\.4, status=bounced \\(host \\S+ said: 552 5\\.3\\.4 Message size \\d+ bytes exceeds the limit of ${MAX} bytes \\(in reply to MAIL FROM command\\)`));
    const bounce = await deInbox.waitFor(`Message-ID: <${big}@`);
    assert.equal(bounce.envelope.mailFrom, '', 'a bounce has the null sender');
    assert.match(bounce.raw.toString('latin1'), /Undelivered Mail Returned to Sender/);
    assert.equal(roInbox.count(big), 0);
    assert.equal((await viaA.send({ from: DE, to: [RO], raw: smime(DE, RO, small) })).ok, true);
    await roInbox.waitFor(small);
  });

  test('a gateway that is down: Postfix defers, and delivers when it comes up', async () => {
    const marker = `late-${randomUUID()}`;
    const frInbox = new Inbox();
    const FR = 'ncp@dna.pruem.fr.eu-admin.net';
    assert.equal((await viaA.send({ from: DE, to: [FR], raw: smime(DE, FR, marker) })).ok, true);
    await relayA!.waitForLog(new RegExp(`status=deferred .*127\\.0\\.0\\.1\\]:${latePort}.*Connection refused`));
    late = await startSmtpReceiver({ host: '127.0.0.1', port: latePort, maxMessageBytes: MAX, acceptedDomains: ['dna.pruem.fr.eu-admin.net'], store: frInbox.store, serverName: 'gw-fr.test', closeTimeoutMs: 1000 });
    await relayA!.flush();
    await frInbox.waitFor(marker);
    assert.equal(frInbox.count(marker), 1);
  });

  test('sender → Postfix → maildir → Dovecot → POP3 fetcher: DELE only after the store succeeded', async (t) => {
    const FP = `ncp@${RO_FP}`;
    const keep = `keep-${randomUUID()}`;
    const take = `take-${randomUUID()}`;
    const dots = `dots-${randomUUID()}`;
    const dotted = buildMailMessage({
      from: DE, to: [FP], subject: 'DE/CPS', messageId: `${dots}@x.test`, date: new Date(),
      contentType: 'text/plain', contentTransferEncoding: '7bit', body: `${dots}\r\n.\r\n..two\r\n.one\r\nend\r\n`,
    });
    const originals = new Map<string, Buffer>([[keep, smime(DE, FP, keep)], [take, smime(DE, FP, take)], [dots, dotted]]);
    for (const [, raw] of originals) assert.equal((await viaA.send({ from: DE, to: [FP], raw })).ok, true);
    await relayA!.waitForEmptyQueue();
    assert.equal(pop!.count(), 3);

    const fetcher = createPop3Fetcher({ host: '127.0.0.1', port: pop!.port, user: pop!.user, password: pop!.password, maxMessageBytes: MAX });
    assert.equal((await fetcher.verify()).state, 'up');
    const stored: Array<{ raw: Buffer; envelope: MailEnvelope }> = [];
    const started = Date.now();
    const first = await fetcher.fetchNew(async (raw, envelope) => {
      if (raw.includes(keep)) return { ok: false, reason: 'inbox database busy', permanent: false };
      stored.push({ raw, envelope });
      return { ok: true, id: `pop-${stored.length}` };
    });
    t.diagnostic(`POP3 session, 3 messages (2 stored): ${Date.now() - started} ms`);
    assert.deepEqual({ fetched: first.fetched, failed: first.failed, committed: first.committed, error: first.error }, { fetched: 2, failed: 1, committed: true, error: null });
    assert.match(first.failures[0]!.reason, /busy/);
    assert.equal(pop!.count(), 1, 'the message whose store failed is still on the server');

    for (const s of stored) {
      const marker = [take, dots].find((m) => s.raw.includes(m))!;
      const original = originals.get(marker)!;
      assert.ok(s.raw.subarray(s.raw.length - original.length).equals(original), `${marker}: bytes unchanged (dot-stuffing undone)`);
      assert.equal(s.envelope.mailFrom, DE, 'from Return-Path');
      assert.deepEqual(s.envelope.rcptTo, [FP], 'from Delivered-To');
      assert.equal(s.envelope.remoteAddress, `pop3:127.0.0.1:${pop!.port}`);
    }

    const second = await fetcher.fetchNew(async (raw) => {
      stored.push({ raw, envelope: { mailFrom: '', rcptTo: [], remoteAddress: '', receivedAt: new Date() } });
      return { ok: true, id: 'pop-last' };
    });
    assert.equal(second.fetched, 1);
    assert.ok(stored.at(-1)!.raw.includes(keep));
    assert.equal(pop!.count(), 0);
    assert.match(pop!.log(), /del=2\/3/, 'Dovecot logged two deletions in the first session');
  });

  test('a wrong POP3 password is an error value, the mailbox untouched', async () => {
    pop!.deliver(Buffer.from('Subject: direct\r\n\r\nhello\r\n'));
    const fetcher = createPop3Fetcher({ host: '127.0.0.1', port: pop!.port, user: pop!.user, password: 'wrong' });
    const r = await fetcher.fetchNew(async () => ({ ok: true, id: 'never' }));
    assert.equal(r.committed, false);
    assert.match(r.error ?? '', /auth/i);
    assert.equal(pop!.count(), 1);
  });

  test('relay down: the sender reports a temporary failure and verify() says down', async () => {
    await relayB!.stop();
    const r = await viaB.send({ from: DE, to: [RO], raw: smime(DE, RO, 'down') });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.permanent, false);
      assert.equal(r.code, null);
      assert.match(r.reason, /ECONNREFUSED/);
    }
    assert.equal((await viaB.verify()).state, 'down');
    assert.equal((await viaA.verify()).state, 'up');
  });
});
