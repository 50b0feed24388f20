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
import { signingTimeOf } from '../../appliance/transport/smime/open.js';
import type { ParserName, SeedSet } from './seeds.js';

export type Target = (input: Buffer) => string | Promise<string>;

/** An error the parser is allowed to raise (its own class and code); anything else is rethrown. */
function expected(e: unknown): string {
  if (e instanceof SmimeError) return e.code;
  throw e;
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
    case 'cms-signed': {
      const parsed = parseConfig(JSON.parse(readFileSync(set.directoryConfig, 'utf8')));
      if (!parsed.ok) throw parsed.error;
      const directory = new PeerDirectory(parsed.config);
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
