/** PRUEMDNA codec: round trips checked by xmllint --schema, and one refusal per kind of bad input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_BYTES, parsePruemDna, writePruemDna } from '../../appliance/dna/codec.js';
import type { DnaErrorCode, PruemDnaMessage } from '../../appliance/dna/message.js';
import { request, xmllintSchema } from './xml-helpers.js';

const ANSWER: PruemDnaMessage = {
  header: { ...request().header, direction: 'A', requested: { sourceIsocode: 'RO', destinationIsocode: 'DE', requestId: 'DE-2024-000001', date: '2024-05-01', time: '12:00:05Z' } },
  datas: [
    { ...request().datas[0]!, result: 'H', quality: 0, rescount: 1 },
    {
      reqtype: 3, date: '2020-01-02', type: 'P', result: 'H', agency: 'IGPR & co <lab>', profileIdent: 'RO-000123',
      profile: { loci: { vwa: ['14', '17'], th01: ['6', '*'] }, profileId: 'RO-000123' }, matchId: 'DE-S-1', quality: 2, hitcount: 4,
    },
    { reqtype: 3, date: '2024-05-01', type: 'S', result: 'E', agency: 'x', profileIdent: 'DE-S-9', message: 'profile refused: 5 loci', quality: 0 },
  ],
};

describe('round trips', () => {
  for (const [name, message] of [
    ['Art. 3 request with all 24 loci, wildcard, micro-variants', request()],
    ['Art. 4 request with 500 datas', request(500, 4)],
    ['answer with echo, hit and error datas', ANSWER],
  ] as const) {
    it(name, async () => {
      const xml = writePruemDna(message);
      const lint = await xmllintSchema(xml);
      assert.equal(lint.code, 0, lint.stderr);
      const parsed = parsePruemDna(xml);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
      assert.deepEqual(parsed.message, message);
      assert.equal(writePruemDna(parsed.message), xml);
    });
  }

  it('the writer escapes markup and drops characters XML cannot carry', async () => {
    const m: PruemDnaMessage = { ...ANSWER, header: { ...ANSWER.header, generator: 'a&b <c> "d"\u0001' } };
    const xml = writePruemDna(m);
    assert.equal((await xmllintSchema(xml)).code, 0);
    const parsed = parsePruemDna(xml);
    assert.ok(parsed.ok);
    assert.equal(parsed.message.header.generator, 'a&b <c> "d"');
  });

  it('reads empty elements where the ICD says "empty" as absent', () => {
    const xml = writePruemDna(ANSWER).replace('<rescount>1</rescount>', '<rescount/>').replace('<match_id>DE-S-1</match_id>', '<match_id></match_id>');
    const withEmptyProfile = xml.replace(/(<message>profile refused: 5 loci<\/message>)\s*<quality>0<\/quality>/, '$1\n    <profile/>\n    <quality></quality>\n    <hitcount/>');
    assert.notEqual(withEmptyProfile, xml);
    const parsed = parsePruemDna(withEmptyProfile);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    assert.equal(parsed.message.datas[0]!.rescount, undefined);
    assert.equal(parsed.message.datas[1]!.matchId, undefined);
    assert.equal(parsed.message.datas[2]!.profile, undefined);
    assert.equal(parsed.message.datas[2]!.quality, undefined);
  });

});

const GOOD = writePruemDna(request(2, 4));
const GOOD_ANSWER = writePruemDna(ANSWER);

const BAD: Array<[string, string | Uint8Array, DnaErrorCode, RegExp]> = [
  ['reqtype outside 3/4', GOOD.replace('<reqtype>4</reqtype>', '<reqtype>5</reqtype>'), 'SCHEMA_INVALID', /line \d+: Element 'reqtype'.*'5'/],
  ['direction outside R/A', GOOD.replace('<direction>R</direction>', '<direction>Q</direction>'), 'SCHEMA_INVALID', /direction/],
  ['type outside P/S', GOOD.replace('<type>S</type>', '<type>X</type>'), 'SCHEMA_INVALID', /type/],
  ['result outside U/H/N/E', GOOD.replace('<result>U</result>', '<result>Z</result>'), 'SCHEMA_INVALID', /result/],
  ['quality outside 0–4', GOOD_ANSWER.replace('<quality>2</quality>', '<quality>5</quality>'), 'SCHEMA_INVALID', /quality/],
  ['hitcount not a number', GOOD_ANSWER.replace('<hitcount>4</hitcount>', '<hitcount>four</hitcount>'), 'SCHEMA_INVALID', /hitcount/],
  ['date not xs:date', GOOD.replace('<date>2023-11-30</date>', '<date>30.11.2023</date>'), 'SCHEMA_INVALID', /date/],
  ['time not xs:time', GOOD.replace('<time>12:00:00</time>', '<time>noon</time>'), 'SCHEMA_INVALID', /time/],
  ['lower-case ISO code', GOOD.replace('<source_isocode>DE</source_isocode>', '<source_isocode>de</source_isocode>'), 'SCHEMA_INVALID', /source_isocode/],
  ['missing generator', GOOD.replace(/<generator>.*<\/generator>\n/, ''), 'SCHEMA_INVALID', /schema_version|generator/],
  ['fields out of order', GOOD.replace(/(<result>U<\/result>)\n(\s*)(<agency>.*<\/agency>)/, '$3\n$2$1'), 'SCHEMA_INVALID', /agency|result/],
  ['unknown element', GOOD.replace('<profile_ident>', '<colour>red</colour><profile_ident>'), 'SCHEMA_INVALID', /colour/],
  ['unknown locus element', GOOD.replace('<vwa>', '<d1s1656><low_allele>1</low_allele><high_allele>2</high_allele></d1s1656><vwa>'), 'SCHEMA_INVALID', /d1s1656/],
  ['locus without high_allele', GOOD.replace(/<high_allele>17<\/high_allele>/, ''), 'SCHEMA_INVALID', /high_allele|vwa/],
  ['501 datas', writePruemDna(request(501, 4)), 'SCHEMA_INVALID', /datas/],
  ['root named PRUEMDNAx (the Annex example typo)', GOOD.replace('<PRUEMDNA>', '<PRUEMDNAx>').replace('</PRUEMDNA>', '</PRUEMDNAx>'), 'SCHEMA_INVALID', /PRUEMDNAx/],
  ['allele value longer than 32 characters', GOOD.replace('<low_allele>14</low_allele>', `<low_allele>${'1'.repeat(40)}</low_allele>`), 'SCHEMA_INVALID', /low_allele/],
  ['not well-formed', GOOD.replace('</header>', ''), 'NOT_WELL_FORMED', /line \d+/],
  ['not XML at all', 'hello', 'NOT_WELL_FORMED', /not well-formed/],
  ['DOCTYPE (entity expansion)', GOOD.replace('<PRUEMDNA>', '<!DOCTYPE PRUEMDNA [<!ENTITY a "aaaa">]><PRUEMDNA>'), 'DOCTYPE_FORBIDDEN', /DOCTYPE/],
  ['invalid UTF-8', Buffer.concat([Buffer.from(GOOD.slice(0, 300)), Buffer.from([0xff, 0xfe]), Buffer.from(GOOD.slice(300))]), 'NOT_UTF8', /UTF-8/],
  ['too large', Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20), 'TOO_LARGE', /exceeds/],
  ['request with result H', GOOD.replace('<result>U</result>', '<result>H</result>'), 'DIRECTION_RESULT_MISMATCH', /datas 1 \(DE-S-1\).*result U/],
  ['answer with result U', GOOD_ANSWER.replace('<result>H</result>', '<result>U</result>'), 'DIRECTION_RESULT_MISMATCH', /H, N or E/],
  ['Art. 3 request with two profiles', writePruemDna(request(2, 3)), 'ART3_SINGLE_PROFILE', /one profile/],
  ['Art. 3 and Art. 4 mixed', GOOD.replace('<reqtype>4</reqtype>', '<reqtype>3</reqtype>'), 'ART3_SINGLE_PROFILE', /mixes/],
  ['unknown Member State code', GOOD.replace('<destination_isocode>RO</destination_isocode>', '<destination_isocode>XX</destination_isocode>'), 'UNKNOWN_MEMBER_STATE', /"XX"/],
  ['request without a profile', GOOD.replace(/<profile>[\s\S]*?<\/profile>/, ''), 'MISSING_PROFILE', /datas 1/],
  ['request with an empty profile', GOOD.replace(/<profile>[\s\S]*?<\/profile>/, '<profile><marker>m</marker></profile>'), 'MISSING_PROFILE', /loci/],
  ['duplicate profile_ident', GOOD.replace('<profile_ident>DE-S-2</profile_ident>', '<profile_ident>DE-S-1</profile_ident>'), 'DUPLICATE_PROFILE_IDENT', /datas 2/],
];

describe('refusals: each bad input gives its code and a precise message', () => {
  for (const [name, input, code, message] of BAD) {
    it(name, () => {
      if (typeof input === 'string' && input === GOOD) assert.fail('the mutation did not apply');
      const r = parsePruemDna(input);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code, r.error.message);
        assert.match(r.error.message, message);
        assert.ok(r.error.message.length <= 4000);
      }
    });
  }
});
