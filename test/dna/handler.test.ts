/** The DNA channel handler and the request builder, end to end through the codec and xmllint. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parsePruemDna, writePruemDna } from '../../appliance/dna/codec.js';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { answerDnaRequest, buildDnaRequest, type DnaHandlerContext } from '../../appliance/dna/handler.js';
import { dnaError, type PruemDnaMessage } from '../../appliance/dna/message.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import type { NormalisedProfile } from '../../appliance/dna/profile.js';
import { FULL_LOCI, request, xmllintSchema } from './xml-helpers.js';

const NOW = new Date('2024-05-01T12:00:05Z');
let store: ProfileStore;
let ctx: DnaHandlerContext;

function norm(loci: Record<string, string[]>, type: 'P' | 'S' = 'S'): NormalisedProfile {
  const r = normaliseProfile({ type, loci });
  assert.ok(r.ok, r.ok ? '' : r.refusal.reason);
  return r.profile;
}
const raw = (overrides: Record<string, string[]> = {}) => {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(FULL_LOCI)) if (v) out[k] = [v[0], v[1]];
  return { ...out, ...overrides };
};

before(() => {
  store = ProfileStore.open(':memory:');
  store.put('RO-000001', 'IGPR Bucharest', norm(raw()), '2019-03-04'); // quality 2 (request has a wildcard at gaba)
  store.put('RO-000002', 'IGPR Cluj', norm(raw({ vwa: ['14', '18'] }), 'P'), '2020-06-07'); // quality 4
  store.put('RO-000003', 'IGPR Iasi', norm(raw({ vwa: ['15', '18'] })), '2021-01-01'); // two differences: no hit
  ctx = { engine: MatchEngine.build(store), ourState: 'RO', now: NOW, requestingState: 'DE', generator: 'pruem-gateway test' };
});
after(() => store.close());

async function valid(m: PruemDnaMessage): Promise<void> {
  const xml = writePruemDna(m);
  const lint = await xmllintSchema(xml);
  assert.equal(lint.code, 0, lint.stderr);
  const back = parsePruemDna(xml);
  assert.ok(back.ok, back.ok ? '' : back.error.message);
}

describe('answering a request', () => {
  it('Art. 3 hit: quality-0 echo with the original profile and rescount, then one datas per hit', async () => {
    const req = request(1, 3);
    const { answer, answers, outcomes } = answerDnaRequest(req, ctx);
    assert.equal(answers.length, 1);
    await valid(answer);
    assert.equal(answer.header.direction, 'A');
    assert.equal(answer.header.ref, req.header.ref);
    assert.equal(answer.header.generator, 'pruem-gateway test');
    assert.deepEqual(answer.header.requesting, req.header.requesting);
    assert.deepEqual(answer.header.requested, { sourceIsocode: 'RO', destinationIsocode: 'DE', requestId: 'DE-2024-000001', date: '2024-05-01', time: '12:00:05Z' });
    const [echo, first, second, ...rest] = answer.datas;
    assert.equal(rest.length, 0);
    assert.deepEqual(echo, { ...req.datas[0]!, result: 'H', quality: 0, rescount: 2 });
    assert.deepEqual(first, {
      reqtype: 3, date: '2019-03-04', type: 'S', result: 'H', agency: 'IGPR Bucharest', profileIdent: 'RO-000001',
      profile: { loci: store.getById('RO-000001')!.profile.loci, profileId: 'RO-000001' }, matchId: 'DE-S-1', quality: 2, hitcount: 46, // 23 loci compared, amelogenin excluded
    });
    assert.equal(second!.profileIdent, 'RO-000002');
    assert.equal(second!.type, 'P');
    assert.equal(second!.quality, 4);
    assert.equal(second!.hitcount, 45);
    assert.deepEqual(outcomes, [{ profileRef: 'DE-S-1', result: 'H', hits: [{ nationalProfileId: 'RO-000001', quality: 2 }, { nationalProfileId: 'RO-000002', quality: 4 }] }]);
  });

  it('Art. 4 batch: no hit gives result N with an empty profile; a profile below the inclusion minimum gives E', async () => {
    const req = request(3, 4);
    const stranger = { ...req.datas[1]!, profile: { loci: { vwa: ['9', '10'], th01: ['5', '5'], d21s11: ['35', '36'], fga: ['30', '31'], d8s1179: ['8', '8'], d3s1358: ['20', '20'] } } } as const;
    const tooSmall = { ...req.datas[2]!, profile: { loci: { vwa: ['14', '17'], th01: ['6', 'o'], d21s11: ['29', '30'] } } } as const;
    const { answer, outcomes } = answerDnaRequest({ ...req, datas: [req.datas[0]!, stranger, tooSmall] }, ctx);
    await valid(answer);
    assert.deepEqual(answer.datas.map((d) => [d.profileIdent, d.result, d.quality, d.matchId ?? '']), [
      ['DE-S-1', 'H', 0, ''], ['RO-000001', 'H', 2, 'DE-S-1'], ['RO-000002', 'H', 4, 'DE-S-1'],
      ['DE-S-2', 'N', 0, ''],
      ['DE-S-3', 'E', 0, ''],
    ]);
    const none = answer.datas[3]!;
    assert.equal(none.profile, undefined);
    assert.equal(none.rescount, 0);
    assert.match(answer.datas[4]!.message ?? '', /TOO_FEW_DESIGNATED_LOCI.*2 fully designated loci/);
    assert.deepEqual(outcomes.map((o) => [o.profileRef, o.result, o.hits.length]), [['DE-S-1', 'H', 2], ['DE-S-2', 'N', 0], ['DE-S-3', 'E', 0]]);
  });

  it('a request the codec refused is answered with result E and the reason', async () => {
    const { answer, outcomes } = answerDnaRequest(dnaError('SCHEMA_INVALID', "line 12: Element 'reqtype': bad"), ctx);
    await valid(answer);
    assert.equal(answer.header.direction, 'A');
    assert.deepEqual(answer.header.requesting.sourceIsocode, 'DE');
    assert.equal(answer.datas.length, 1);
    assert.equal(answer.datas[0]!.result, 'E');
    assert.equal(answer.datas[0]!.message, "line 12: Element 'reqtype': bad");
    assert.deepEqual(outcomes, [{ profileRef: '', result: 'E', hits: [] }]);
  });

  it('a request refused by the schema (reqtype 7) is answered E with its ref, request ids, requesting State and profile idents', async () => {
    const xml = writePruemDna(request(2, 4)).replace(/<reqtype>4<\/reqtype>/g, '<reqtype>7</reqtype>');
    const parsed = parsePruemDna(xml);
    assert.ok(!parsed.ok);
    assert.equal(parsed.error.code, 'SCHEMA_INVALID');
    assert.ok(parsed.readable, 'the header was readable');
    const { answer, outcomes } = answerDnaRequest(parsed.error, ctx, parsed.readable);
    await valid(answer);
    const req = request(2, 4);
    assert.equal(answer.header.ref, req.header.ref);
    assert.deepEqual(answer.header.requesting, req.header.requesting, 'the requester finds its own request block');
    assert.equal(answer.header.requested.requestId, req.header.requesting.requestId);
    assert.deepEqual(answer.datas.map((d) => [d.profileIdent, d.result, d.reqtype]), [['DE-S-1', 'E', 4], ['DE-S-2', 'E', 4]]);
    assert.match(answer.datas[0]!.message ?? '', /reqtype/);
    assert.deepEqual(outcomes.map((o) => o.profileRef), ['DE-S-1', 'DE-S-2']);
  });

  it('a refused request with unusable header values still gets a schema-valid E answer with what was usable', async () => {
    const xml = writePruemDna(request(1, 3))
      .replace(/<reqtype>3<\/reqtype>/, '<reqtype>7</reqtype>')
      .replace(/<source_isocode>DE<\/source_isocode>/, '<source_isocode>XX</source_isocode>')
      .replace(/<date>2024-05-01<\/date>/, '<date>2024-13-45</date>')
      .replace(/<ref>[^<]*<\/ref>/, `<ref>${'R'.repeat(300)}</ref>`);
    const parsed = parsePruemDna(xml);
    assert.ok(!parsed.ok && parsed.readable);
    const { answer } = answerDnaRequest(parsed.error, ctx, parsed.readable);
    await valid(answer);
    assert.equal(answer.header.ref, 'R'.repeat(255), 'cut to what PRUEM_string allows');
    assert.equal(answer.header.requesting.sourceIsocode, 'DE', 'an invalid code is replaced by the signer');
    assert.equal(answer.header.requesting.requestId, 'DE-2024-000001');
    assert.equal(answer.datas[0]!.profileIdent, 'DE-S-1');
  });

  it('a message that is not XML at all gets an E answer without ids', async () => {
    const parsed = parsePruemDna('this is not <xml');
    assert.ok(!parsed.ok);
    assert.equal(parsed.readable, undefined);
    const { answer } = answerDnaRequest(parsed.error, ctx, parsed.readable);
    await valid(answer);
    assert.equal(answer.header.requesting.requestId, '');
    assert.equal(answer.datas[0]!.profileIdent, '');
  });

  const whole: Array<[string, (m: PruemDnaMessage) => PruemDnaMessage, RegExp]> = [
    ['addressed to another State', (m) => ({ ...m, header: { ...m.header, requesting: { ...m.header.requesting, destinationIsocode: 'FR' } } }), /addressed to FR, this is RO/],
    ['claiming another sender than the signer', (m) => ({ ...m, header: { ...m.header, requesting: { ...m.header.requesting, sourceIsocode: 'AT' } } }), /claims to come from AT but was sent by DE/],
    ['an answer sent to the request handler', (m) => ({ ...m, header: { ...m.header, direction: 'A' } }), /not a request/],
  ];
  for (const [name, mutate, message] of whole) {
    it(`a request ${name} gets result E for every profile, and no search`, async () => {
      let searched = 0;
      const spy = { search: (p: NormalisedProfile) => (searched++, ctx.engine.search(p)) };
      const { answer, outcomes } = answerDnaRequest(mutate(request(2, 4)), { ...ctx, engine: spy });
      await valid(answer);
      assert.equal(searched, 0);
      assert.deepEqual(answer.datas.map((d) => d.result), ['E', 'E']);
      assert.match(answer.datas[0]!.message ?? '', message);
      assert.deepEqual(outcomes.map((o) => o.result), ['E', 'E']);
    });
  }

  it('more than 500 answer datas are split into several messages, each profile with its hits', async () => {
    const { answers, outcomes } = answerDnaRequest(request(400, 4), ctx);
    assert.equal(outcomes.length, 400);
    assert.deepEqual(answers.map((a) => a.datas.length), [498, 498, 204]);
    for (const a of answers) {
      await valid(a);
      assert.equal(a.datas[0]!.quality, 0, 'every message starts with a requesting profile');
    }
  });
});

describe('building requests', () => {
  const profile = (i: number) => ({ profileIdent: `RO-S-${i}`, agency: 'IGPR', date: '2024-04-30', profile: norm(raw()) });
  it('Art. 3: one profile, header filled from both sides, validates and is answered by a peer', async () => {
    const r = buildDnaRequest({ reqtype: 3, requestingState: 'RO', requestedState: 'DE', requestId: 'RO-2024-7', generator: 'g', now: NOW, profiles: [profile(1)] });
    assert.ok(r.ok);
    assert.equal(r.messages.length, 1);
    const m = r.messages[0]!;
    await valid(m);
    assert.deepEqual(m.header.requesting, { sourceIsocode: 'RO', destinationIsocode: 'DE', requestId: 'RO-2024-7', date: '2024-05-01', time: '12:00:05Z' });
    assert.equal(m.datas[0]!.result, 'U');
    assert.equal(m.datas[0]!.profile!.profileId, 'RO-S-1');
    // The peer (here: our own handler acting as DE) answers it; match_id is our profile ident.
    const parsed = parsePruemDna(writePruemDna(m));
    assert.ok(parsed.ok);
    const peer = answerDnaRequest(parsed.message, { ...ctx, ourState: 'DE', requestingState: 'RO' });
    assert.equal(peer.answer.datas[1]!.matchId, 'RO-S-1');
  });
  it('Art. 3 with two profiles is refused', () => {
    const r = buildDnaRequest({ reqtype: 3, requestingState: 'RO', requestedState: 'DE', requestId: 'x', generator: 'g', now: NOW, profiles: [profile(1), profile(2)] });
    assert.equal(!r.ok && r.error.code, 'ART3_SINGLE_PROFILE');
  });
  it('Art. 4 with 1200 profiles becomes three messages of ≤ 500 with suffixed request ids', async () => {
    const profiles = Array.from({ length: 1200 }, (_, i) => profile(i));
    const r = buildDnaRequest({ reqtype: 4, requestingState: 'RO', requestedState: 'DE', requestId: 'RO-B-1', generator: 'g', now: NOW, profiles });
    assert.ok(r.ok);
    assert.deepEqual(r.messages.map((m) => [m.datas.length, m.header.requesting.requestId]), [[500, 'RO-B-1-1'], [500, 'RO-B-1-2'], [200, 'RO-B-1-3']]);
    await valid(r.messages[2]!);
  });
  it('a profile below the inclusion minimum is not sent', () => {
    const small: NormalisedProfile = { type: 'S', loci: { vwa: ['14', '17'], th01: ['6', '*'] } };
    const r = buildDnaRequest({ reqtype: 4, requestingState: 'RO', requestedState: 'DE', requestId: 'x', generator: 'g', now: NOW, profiles: [profile(1), { ...profile(2), profile: small }] });
    assert.equal(!r.ok && r.error.code, 'PROFILE_REFUSED');
    assert.match(!r.ok ? r.error.message : '', /RO-S-2/);
  });
  it('duplicate idents and empty requests are refused', () => {
    const base = { reqtype: 4 as const, requestingState: 'RO' as const, requestedState: 'DE' as const, requestId: 'x', generator: 'g', now: NOW };
    const dup = buildDnaRequest({ ...base, profiles: [profile(1), profile(1)] });
    assert.equal(!dup.ok && dup.error.code, 'DUPLICATE_PROFILE_IDENT');
    const none = buildDnaRequest({ ...base, profiles: [] });
    assert.equal(!none.ok && none.error.code, 'MISSING_PROFILE');
  });
});
