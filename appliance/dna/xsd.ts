/**
 * XSD validation of PRUEMDNA documents with libxml2's `xmllint` command-line tool.
 *
 * Why the CLI and not xmllint-wasm: measured on this 2-core machine, `xmllint --schema` costs ~5 ms per
 * document (process start included) while xmllint-wasm costs ~40–240 ms (it starts a worker and compiles the
 * WebAssembly module on every call). Both give libxml2's own messages. The CLI also allows a synchronous call
 * (spawnSync) for the synchronous parsePruemDna the pipeline expects; parsePruemDnaAsync uses
 * appliance/util/exec.ts so the event loop is not blocked. `--nonet` keeps libxml2 off the network and
 * DOCTYPEs are refused before we get here (codec.ts), so no entity is ever expanded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';

const XMLLINT = 'xmllint';
const TIMEOUT_MS = 10_000;

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

const ARGS = ['--noout', '--nonet', '--schema', PRUEMDNA_XSD_PATH, '-'];

/** libxml2 diagnostics → "line 12: Element 'reqtype': …", at most five of them. */
function diagnostics(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => /^-:\d+:/.test(l))
    .map((l) => l.replace(/^-:(\d+): (?:element \S+: )?(?:Schemas validity error : |parser error : )?/, 'line $1: '));
  const shown = lines.slice(0, 5).join('; ');
  return lines.length > 5 ? `${shown}; (${lines.length - 5} more)` : shown;
}

export function interpretXmllint(status: number | null, stderr: string): XsdOutcome {
  if (status === 0) return { valid: true };
  if (status === 1) return { valid: false, code: 'NOT_WELL_FORMED', message: `not well-formed XML: ${diagnostics(stderr) || 'parser error'}` };
  if (status === 3 || status === 4) return { valid: false, code: 'SCHEMA_INVALID', message: `does not validate against PRUEMDNA schema: ${diagnostics(stderr)}` };
  return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: `schema validator failed (xmllint exit ${status ?? 'signal'})` };
}

export function validateWithXsdSync(xml: Uint8Array): XsdOutcome {
  const r = spawnSync(XMLLINT, ARGS, { input: xml, timeout: TIMEOUT_MS, maxBuffer: 8 * 1024 * 1024 });
  if (r.error) return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: `schema validator unavailable: ${r.error.message}` };
  return interpretXmllint(r.status, r.stderr.toString('utf8'));
}

export async function validateWithXsd(xml: Uint8Array): Promise<XsdOutcome> {
  try {
    const r = await run(XMLLINT, ARGS, { input: xml, timeoutMs: TIMEOUT_MS });
    return interpretXmllint(r.code, r.stderr);
  } catch (e) {
    return { valid: false, code: 'VALIDATOR_UNAVAILABLE', message: `schema validator unavailable: ${(e as Error).message}` };
  }
}
