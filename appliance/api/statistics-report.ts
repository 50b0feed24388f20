/**
 * The annual statistics as a printable page (Annex ch.4 §2.1: each State compiles the automated exchange's figures
 * every year for the Council): per partner, channel and direction, requests, hits by quality, no-hits and errors,
 * with totals. Pure: rows in, a self-contained HTML document out (no script, no external resource).
 */
import type { StatisticsRow } from './wire.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const CHANNELS: Record<string, string> = { dna: 'DNA', fp: 'Fingerprints', vrd: 'Vehicle registration' };

export function statisticsReport(year: number, ourState: string, rows: readonly StatisticsRow[], generatedAt: Date): string {
  const total = rows.reduce(
    (a, r) => ({
      requests: a.requests + r.requests,
      hits: a.hits + r.hits,
      q: [1, 2, 3, 4].map((q, i) => a.q[i]! + r.hitsByQuality[q as 1 | 2 | 3 | 4]),
      noHits: a.noHits + r.noHits,
      errors: a.errors + r.errors,
    }),
    { requests: 0, hits: 0, q: [0, 0, 0, 0], noHits: 0, errors: 0 },
  );
  const cells = (xs: readonly (string | number)[], tag = 'td') => xs.map((x) => `<${tag}${typeof x === 'number' ? ' class="n"' : ''}>${escape(String(x))}</${tag}>`).join('');
  const body = rows
    .map((r) =>
      `<tr>${cells([
        r.state,
        CHANNELS[r.channel] ?? r.channel,
        r.direction === 'out' ? `our searches in ${r.state}` : `${r.state}'s searches in our data`,
        r.requests,
        r.hits,
        r.hitsByQuality[1],
        r.hitsByQuality[2],
        r.hitsByQuality[3],
        r.hitsByQuality[4],
        r.noHits,
        r.errors,
      ])}</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prüm automated exchange — ${escape(ourState)} — ${year}</title>
<style>
body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.25em .5em;text-align:left}
td.n,th.n{text-align:right}tfoot td{font-weight:bold}.muted{color:#555}
@media print{body{margin:0}a{display:none}}
</style></head><body>
<h1>Automated exchange under Decisions 2008/615/JHA and 2008/616/JHA — statistics ${year}</h1>
<p>Member State: <b>${escape(ourState)}</b>. Generated ${escape(generatedAt.toISOString().slice(0, 19).replace('T', ' '))} UTC from the counters the national access point keeps for each exchange
(Annex ch.4 §2.1). Quality: 1 exact, 2 with wildcards, 3 micro-variant, 4 near match (DNA); other channels count hits as quality 1.</p>
${rows.length === 0 ? `<p class="muted">No exchange was counted in ${year}.</p>` : `<table>
<thead><tr>${cells(['Partner', 'Channel', 'Direction', 'Requests', 'Hits', 'Q1', 'Q2', 'Q3', 'Q4', 'No hits', 'Errors'], 'th')}</tr></thead>
<tbody>
${body}
</tbody>
<tfoot><tr>${cells(['Total', '', '', total.requests, total.hits, ...total.q, total.noHits, total.errors])}</tr></tfoot>
</table>`}
</body></html>
`;
}
