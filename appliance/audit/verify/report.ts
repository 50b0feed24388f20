import type { VerifyErrorCode, VerifyIssue } from './errors.js';

export interface VerifyReport {
  ok: boolean;
  errors: VerifyIssue[];
  warnings: VerifyIssue[];
  facts: string[];
  summary: Record<string, unknown>;
}

/** What the concerns found, collected in order: errors (invalid), warnings (notes) and facts (checked). */
export class Report {
  readonly errors: VerifyIssue[] = [];
  readonly warnings: VerifyIssue[] = [];
  readonly facts: string[] = [];
  readonly summary: Record<string, unknown> = {};

  error(code: VerifyErrorCode, message: string): void {
    this.errors.push({ code, message });
  }

  warn(code: VerifyErrorCode, message: string): void {
    this.warnings.push({ code, message });
  }

  fact(message: string): void {
    this.facts.push(message);
  }

  toJSON(): VerifyReport {
    return { ok: this.errors.length === 0, errors: this.errors, warnings: this.warnings, facts: this.facts, summary: this.summary };
  }
}

export function formatReport(dir: string, report: VerifyReport): string {
  const lines = [`Audit export bundle: ${dir}`];
  for (const f of report.facts) lines.push(`  ok    ${f}`);
  for (const w of report.warnings) lines.push(`  NOTE  [${w.code}] ${w.message}`);
  for (const e of report.errors) lines.push(`  FAIL  [${e.code}] ${e.message}`);
  lines.push(report.ok ? 'RESULT: VALID — the bundle is intact and consistent.' : `RESULT: INVALID — ${report.errors.length} problem(s) found.`);
  return `${lines.join('\n')}\n`;
}
