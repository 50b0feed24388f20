/**
 * XSD validation of PRUEMDNA documents with libxml2, compiled to WebAssembly (libxml2-wasm), in process.
 *
 * Why this and not the `xmllint` command line: the schema is compiled once and a one-profile request
 * validates in ~0.1 ms, where an `xmllint --schema` process cost ~2 ms of our main thread to spawn and
 * ~6 ms of wall time per document — a third of the whole per-request budget at 100 requests/s
 * (docs/bench.md). It is the same libxml2, so the diagnostics are the ones a peer running `xmllint`
 * sees; the tests keep the `xmllint` CLI as the independent checker of what we write.
 * Network access is off (XML_PARSE_NONET), the module has no file system, and DOCTYPEs are refused
 * before we get here (codec.ts), so no entity is ever expanded or fetched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ParseOption, XmlDocument, XmlLibError, XmlParseError, XmlValidateError, XsdValidator, type ErrorDetail } from 'libxml2-wasm';

/**
 * The shipped schema. Next to this module in the source tree; from a compiled `dist/appliance/dna/` the
 * source copy two levels up is used when the build did not copy the .xsd.
 */
export const PRUEMDNA_XSD_PATH: string = (() => {
  const beside = fileURLToPath(new URL('./pruemdna.xsd', import.meta.url));
  if (existsSync(beside)) return beside;
  const source = fileURLToPath(new URL('../../../appliance/dna/pruemdna.xsd', import.meta.url));
  return existsSync(source) ? source : beside;
})();

export type XsdOutcome =
  | { readonly valid: true }
  | { readonly valid: false; readonly code: 'NOT_WELL_FORMED' | 'SCHEMA_INVALID' | 'VALIDATOR_UNAVAILABLE'; readonly message: string };

/** Compiled on first use and kept: compiling costs ~8 ms, validating a request a hundredth of that. */
let compiled: { validator: XsdValidator } | { error: string } | null = null;

function schema(): { validator: XsdValidator } | { error: string } {
  if (compiled) return compiled;
  try {
    const doc = XmlDocument.fromBuffer(readFileSync(PRUEMDNA_XSD_PATH), { option: ParseOption.XML_PARSE_NONET });
    try {
      compiled = { validator: XsdValidator.fromDoc(doc) };
    } finally {
      doc.dispose(); // the validator keeps its own compiled form
    }
  } catch (e) {
    // Not cached: a schema file restored by the operator is picked up on the next message.
    return { error: `schema validator unavailable: ${e instanceof Error ? e.message : String(e)}` };
  }
  return compiled;
}

/** libxml2 diagnostics → "line 12: Element 'reqtype': …", at most five of them. */
function diagnostics(details: readonly ErrorDetail[]): string {
  const lines = details.map((d) => `line ${d.line}: ${d.message.trim()}`);
  const shown = lines.slice(0, 5).join('; ');
  return lines.length > 5 ? `${shown}; (${lines.length - 5} more)` : shown;
}

/** Well-formedness, then the PRUEMDNA schema. Synchronous: a 500-profile Art. 4 batch takes ~17 ms. */
export function validateWithXsd(xml: Uint8Array): XsdOutcome {
  const s = schema();
  if ('error' in s) return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: s.error };
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromBuffer(xml, { option: ParseOption.XML_PARSE_NONET });
  } catch (e) {
    if (e instanceof XmlParseError) return { valid: false, code: 'NOT_WELL_FORMED', message: `not well-formed XML: ${diagnostics(e.details) || 'parser error'}` };
    return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: `XML parser failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  try {
    s.validator.validate(doc);
    return { valid: true };
  } catch (e) {
    if (e instanceof XmlValidateError) return { valid: false, code: 'SCHEMA_INVALID', message: `does not validate against PRUEMDNA schema: ${diagnostics(e.details)}` };
    const detail = e instanceof XmlLibError ? diagnostics(e.details) : e instanceof Error ? e.message : String(e);
    return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: `schema validator failed: ${detail}` };
  } finally {
    doc.dispose();
  }
}
