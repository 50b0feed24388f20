/**
 * The parsers at the trust boundary, as fuzz targets: each returns the outcome's code ('ok' or the
 * parser's own error code from its closed list). Anything else thrown is a crash: a bug to fix.
 */
import { readFileSync } from 'node:fs';
import { parseConfig, resolvePaths } from '../../appliance/config/config.js';
import { parsePruemDna } from '../../appliance/dna/codec.js';
import { PeerDirectory } from '../../appliance/peers/directory.js';
import type { Token } from '../../appliance/token/token.js';
import { decryptEnvelopedData } from '../../appliance/transport/smime/EnvelopedData.js';
import { SmimeError } from '../../appliance/transport/smime/errors.js';
import { decodeBody, decodeHeaderValue, looksLikeMimeEntity, parseMimeEntity, splitMultipart } from '../../appliance/transport/smime/MimeEntity.js';
import { parseSignedData, verifySignedData } from '../../appliance/transport/smime/SignedData.js';
import { openMessage } from '../../appliance/transport/smime/open.js';
import { signingTimeOf } from '../../appliance/transport/smime/open.js';
import { nistTarget } from './nist-input.js';
import type { ParserName, SeedSet } from './seeds.js';

export type Target = (input: Buffer) => string | Promise<string>;

/** An error the parser is allowed to raise (its own class and code); anything else is rethrown. */
function expected(e: unknown): string {
  if (e instanceof SmimeError) return e.code;
  throw e;
}

function peerDirectory(set: SeedSet): PeerDirectory {
  const parsed = parseConfig(JSON.parse(readFileSync(set.directoryConfig, 'utf8')));
  if (!parsed.ok) throw parsed.error;
  return new PeerDirectory(parsed.config);
}

export function makeTarget(parser: ParserName, set: SeedSet, token: Token | null): Target {
  switch (parser) {
    case 'mime':
      return (input) => {
        // The receiver reads the signing time before its 250 (DNA-TIME order): it must never throw, whatever the bytes.
        signingTimeOf(input);
        try {
          const entity = parseMimeEntity(input);
          decodeHeaderValue(entity.header('subject') ?? '');
          if (entity.contentType.mediaType.startsWith('multipart/')) {
            for (const part of splitMultipart(entity)) {
              const body = decodeBody(parseMimeEntity(part));
              looksLikeMimeEntity(body);
            }
          } else looksLikeMimeEntity(decodeBody(entity));
          return 'ok';
        } catch (e) {
          return expected(e);
        }
      };
    case 'open-message': {
      if (!token) throw new Error('open-message needs the token');
      const directory = peerDirectory(set);
      const now = new Date();
      // openMessage never throws; its catch-all turns a parser's stray exception into MALFORMED_CMS
      // "unexpected structure": counted apart, since each one is a parser leak the unit parsers should name.
      return async (input) => {
        const r = await openMessage(input, { directory, token, now, maxBytes: 20 * 1024 * 1024 });
        if (r.ok) return 'ok';
        return r.error.message.startsWith('unexpected structure') ? 'CATCH_ALL' : r.error.code;
      };
    }
    case 'cms-signed': {
      const directory = peerDirectory(set);
      const detached = set.detached.map((f) => readFileSync(f));
      const now = new Date();
      return (input) => {
        try {
          verifySignedData(parseSignedData(input), { directory, now, detached });
          return 'ok';
        } catch (e) {
          return expected(e);
        }
      };
    }
    case 'cms-enveloped':
      if (!token) throw new Error('cms-enveloped needs the token');
      return async (input) => {
        try {
          await decryptEnvelopedData(input, token);
          return 'ok';
        } catch (e) {
          return expected(e);
        }
      };
    case 'pruemdna':
      return (input) => {
        const r = parsePruemDna(input);
        return r.ok ? 'ok' : r.error.code;
      };
    case 'nist':
      return nistTarget;
    case 'config':
      return (input) => {
        let raw: unknown;
        try {
          raw = JSON.parse(input.toString('utf8'));
        } catch (e) {
          if (e instanceof SyntaxError) return 'JSON_SYNTAX'; // loadConfig: "is not valid JSON"
          throw e;
        }
        const r = parseConfig(raw);
        if (!r.ok) return 'CONFIG_INVALID';
        resolvePaths(r.config, '/etc/pruem');
        return 'ok';
      };
  }
}
