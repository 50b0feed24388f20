import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Parsed } from './errors.js';
import { LIMITS, SAFE_PATH_RE } from './format.js';
import type { Report } from './report.js';

/**
 * The bundle's files: SHA256SUMS, and reading each file so that every byte interpreted is also
 * hashed. Large files are streamed line by line; small ones are bounded in size.
 */

const SUMS_LINE_RE = /^([0-9a-f]{64})  (.+)$/;

/** Parses SHA256SUMS as written by the appliance and read by `sha256sum -c`. */
export function parseSums(text: string): Parsed<Map<string, string>> {
  const map = new Map<string, string>();
  if (!text.endsWith('\n')) return { ok: false, message: 'SHA256SUMS must end with a newline' };
  for (const line of text.slice(0, -1).split('\n')) {
    const m = SUMS_LINE_RE.exec(line);
    const name = m?.[2];
    const digest = m?.[1];
    if (name === undefined || digest === undefined || !SAFE_PATH_RE.test(name) || name.split('/').some((s) => s === '..' || s === '.')) {
      return { ok: false, message: `bad SHA256SUMS line: ${JSON.stringify(line.slice(0, 120))}` };
    }
    if (map.has(name)) return { ok: false, message: `${name} listed twice` };
    map.set(name, digest);
  }
  return { ok: true, value: map };
}

/** Every file under `dir`, as bundle-relative paths with forward slashes, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

export function readSmall(dir: string, name: string, r: Report): Buffer | undefined {
  try {
    const p = join(dir, name);
    const st = statSync(p);
    if (!st.isFile()) throw new Error('not a file');
    if (st.size > LIMITS.maxSmallFileBytes) {
      r.error('BUNDLE_FORMAT_ERROR', `${name} is larger than expected`);
      return undefined;
    }
    return readFileSync(p);
  } catch {
    r.error('BUNDLE_FILE_MISSING', `${name} is missing`);
    return undefined;
  }
}

/** Splits a verified JSON Lines file into line buffers (every line ends with \n, none is empty). */
export function readLines(bytes: Buffer | undefined, name: string, r: Report): Buffer[] | undefined {
  if (bytes === undefined) return undefined;
  if (bytes.length === 0) return [];
  if (bytes[bytes.length - 1] !== 0x0a) {
    r.error('BUNDLE_FORMAT_ERROR', `${name} must end with a newline`);
    return undefined;
  }
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      if (i === start) {
        r.error('BUNDLE_FORMAT_ERROR', `${name} has an empty line`);
        return undefined;
      }
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/**
 * Reads a (possibly very large) JSON Lines file line by line, synchronously, hashing every byte it
 * reads. Lines are returned as their exact bytes (no re-encoding, no CR stripping), so the leaf
 * hash is computed over what is on the disk.
 */
export class LineReader {
  private readonly fd: number;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  lineNo = 0;
  private readonly hash = createHash('sha256');
  private readonly chunk = Buffer.allocUnsafe(1 << 20);

  constructor(
    path: string,
    private readonly name: string,
    private readonly r: Report,
  ) {
    this.fd = openSync(path, 'r');
  }

  /** The next non-empty line, or null at the end. */
  next(): Buffer | null {
    for (;;) {
      const i = this.buf.indexOf(0x0a, this.pos);
      if (i !== -1) {
        const line = this.buf.subarray(this.pos, i);
        this.pos = i + 1;
        this.lineNo++;
        if (line.length === 0) {
          this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} line ${this.lineNo} is empty`);
          continue;
        }
        return line;
      }
      if (this.eof) {
        if (this.pos < this.buf.length) {
          this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} does not end with a newline (truncated?)`);
          this.pos = this.buf.length;
        }
        return null;
      }
      if (this.buf.length - this.pos > LIMITS.maxLineBytes) {
        this.r.error('BUNDLE_FORMAT_ERROR', `${this.name} line ${this.lineNo + 1} is longer than ${LIMITS.maxLineBytes} bytes`);
        this.pos = this.buf.length;
        this.drain();
        return null;
      }
      this.fill();
    }
  }

  private fill(): void {
    const n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
    if (n === 0) {
      this.eof = true;
      return;
    }
    const data = this.chunk.subarray(0, n);
    this.hash.update(data);
    this.buf = Buffer.concat([this.buf.subarray(this.pos), data]);
    this.pos = 0;
  }

  private drain(): void {
    while (!this.eof) this.fill();
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }

  /** Reads whatever is left (for the digest), closes the file and returns the SHA-256 hex digest. */
  finish(): string {
    this.drain();
    closeSync(this.fd);
    return this.hash.digest('hex');
  }
}

export function hashFile(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const h = createHash('sha256');
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, chunk, 0, chunk.length, null); n > 0; n = readSync(fd, chunk, 0, chunk.length, null)) {
      h.update(chunk.subarray(0, n));
    }
    return h.digest('hex');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A streamed listed file: its lines, then its digest compared with SHA256SUMS on finish(). */
export interface ListedLines {
  readonly lineNo: number;
  next(): Buffer | null;
  finish(): void;
}

/**
 * Reads the files SHA256SUMS lists, checking each digest as it is read, so everything the other
 * concerns interpret is covered; remembers which were checked for the final sweep.
 */
export class ListedFiles {
  readonly checked = new Set<string>();

  constructor(
    private readonly dir: string,
    readonly listed: Map<string, string>,
    private readonly r: Report,
  ) {}

  read(name: string): Buffer | undefined {
    const want = this.listed.get(name);
    if (want === undefined) {
      this.r.error('BUNDLE_FILE_MISSING', `${name} is not listed in SHA256SUMS`);
      return undefined;
    }
    const bytes = readSmall(this.dir, name, this.r);
    if (!bytes) return undefined;
    this.checked.add(name);
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== want) {
      this.r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS (${want})`);
      return undefined;
    }
    return bytes;
  }

  json(name: string): unknown {
    const bytes = this.read(name);
    if (!bytes) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      this.r.error('BUNDLE_FORMAT_ERROR', `${name} is not valid JSON`);
      return undefined;
    }
  }

  /** Large files are streamed; their digest is compared when the reader is finished. */
  lines(name: string): ListedLines | undefined {
    const want = this.listed.get(name);
    if (want === undefined) {
      this.r.error('BUNDLE_FILE_MISSING', `${name} is not listed in SHA256SUMS`);
      return undefined;
    }
    let reader: LineReader;
    try {
      reader = new LineReader(join(this.dir, name), name, this.r);
    } catch {
      this.r.error('BUNDLE_FILE_MISSING', `${name} is missing`);
      return undefined;
    }
    this.checked.add(name);
    const r = this.r;
    return {
      get lineNo() {
        return reader.lineNo;
      },
      next: () => reader.next(),
      finish: () => {
        const got = reader.finish();
        if (got !== want) r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS (${want})`);
      },
    };
  }

  /** Every other listed file's digest (CSV, officers list, VERIFY.txt, this verifier…). */
  checkRest(): void {
    for (const name of this.listed.keys()) {
      if (this.checked.has(name)) continue;
      const got = hashFile(join(this.dir, name));
      if (got === undefined) this.r.error('BUNDLE_FILE_MISSING', `${name} is listed in SHA256SUMS but missing`);
      else if (got !== this.listed.get(name)) this.r.error('DIGEST_MISMATCH', `${name}: SHA-256 ${got} differs from SHA256SUMS`);
    }
  }
}
