import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { NIST_ERROR_CODES, type NistErrorCode } from '../errors.js';
import type { AfisAdapter, AfisResult, AfisSearch } from './adapter.js';

/**
 * An AFIS reached through two folders, as many national AFIS take NIST files: the appliance writes
 * each search as `<TCN>.an2` (and `<TCN>.json` with its metadata) into `requests/`, atomically (a
 * temporary name, then a rename), and polls `results/` for `<TCN>.json`:
 *
 *   { "candidates": [ { "reference": "DE/P-123", "score": 4200, "verified": false, "fingerPosition": 2 } ] }
 *   { "error": { "code": "501", "text": "INSUFFICIENT QUALITY" } }
 *
 * A result file is removed once read (the appliance has it in its own transaction by then); an
 * unreadable one is moved to `rejected/` and reported, never retried silently.
 */
const candidate = z
  .object({
    reference: z.string().min(1).max(64),
    score: z.number().int().min(0).max(999_999),
    verified: z.boolean().default(false),
    fingerPosition: z.number().int().min(0).max(99).optional(),
  })
  .strict();
const resultFile = z.union([
  z.object({ candidates: z.array(candidate).max(100) }).strict(),
  z.object({ error: z.object({ code: z.string().regex(/^\d{3}$/), text: z.string().max(200) }).strict() }).strict(),
]);

/** Largest result file read (a list of candidates is a few kilobytes). */
const MAX_RESULT_BYTES = 256 * 1024;
const TCN_FILE = /^(\d{10}[A-Z])\.json$/;

export class DirectoryAfis implements AfisAdapter {
  readonly name: string;
  private readonly requests: string;
  private readonly results: string;
  private readonly rejected: string;

  constructor(
    root: string,
    private readonly onProblem: (problem: string) => void = () => undefined,
  ) {
    this.name = `AFIS by folder exchange (${root})`;
    this.requests = join(root, 'requests');
    this.results = join(root, 'results');
    this.rejected = join(root, 'rejected');
    for (const d of [this.requests, this.results, this.rejected]) mkdirSync(d, { recursive: true, mode: 0o750 });
  }

  async submit(search: AfisSearch): Promise<void> {
    const meta = { tcn: search.id, requestTcn: search.tcn, tot: search.tot, priority: search.priority, maxCandidates: search.maxCandidates };
    // Atomic for the AFIS: it only ever sees complete files under their final names; the .an2 last.
    for (const [name, data] of [[`${search.id}.json`, JSON.stringify(meta)], [`${search.id}.an2`, search.transaction]] as const) {
      const tmp = join(this.requests, `.${name}.tmp`);
      writeFileSync(tmp, data, { mode: 0o640 });
      renameSync(tmp, join(this.requests, name));
    }
  }

  onResult(): void {
    // Results are polled (poll()); nothing is pushed.
  }

  async poll(): Promise<readonly AfisResult[]> {
    const out: AfisResult[] = [];
    for (const name of readdirSync(this.results)) {
      const m = TCN_FILE.exec(name);
      if (!m) continue;
      const path = join(this.results, name);
      const id = m[1]!;
      let text: string;
      try {
        const data = readFileSync(path);
        if (data.length > MAX_RESULT_BYTES) throw new Error(`larger than ${MAX_RESULT_BYTES} bytes`);
        text = data.toString('utf8');
        const parsed = resultFile.safeParse(JSON.parse(text));
        if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        const r = parsed.data;
        if ('error' in r) {
          const code = (r.error.code in NIST_ERROR_CODES ? r.error.code : '999') as NistErrorCode;
          out.push({ id, outcome: 'error', code, text: r.error.text.toUpperCase().replace(/[^\x20-\x7e]/g, ' ') });
        } else {
          out.push({ id, outcome: 'candidates', candidates: r.candidates.map((c) => ({ reference: c.reference, score: c.score, verified: c.verified, ...(c.fingerPosition !== undefined ? { fingerPosition: c.fingerPosition } : {}) })) });
        }
        rmSync(path);
        // The search files are the AFIS's to remove; ours go once answered.
        for (const ext of ['an2', 'json']) {
          const request = join(this.requests, `${id}.${ext}`);
          if (existsSync(request)) rmSync(request);
        }
      } catch (e) {
        renameSync(path, join(this.rejected, name));
        this.onProblem(`result ${name} moved to rejected/: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}
