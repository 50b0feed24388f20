import { useState } from 'preact/hooks';
import type { ValidationDetail, ValidationSummary, Workload } from '../../../appliance/dna-exchange/hit-validation.js';
import type { ComparisonRun, RunReport } from '../../../appliance/dna-exchange/comparisons.js';
import { api } from '../api.js';
import { Badge, Card, ErrorLine, Field, inputValue, Page, Status, downloadText, useAction, useData, type Tone } from '../components.js';
import { t, type MessageKey } from '../i18n/index.js';

/** The DNA staff's validation list (issue 15): every hit, both ways, waits here for a human decision. */
export function DnaHits() {
  const [status, setStatus] = useState<'pending' | 'confirmed' | 'excluded' | ''>('pending');
  const [open, setOpen] = useState<string | null>(null);
  const { data, error, reload } = useData(() => api<{ hits: ValidationSummary[]; workload: Workload }>('GET', `/dna/validations${status ? `?status=${status}` : ''}`), [status], 30_000);
  return (
    <Page title="nav.dnaHits" help={t('hits.help')}>
      <Card title={t('hits.workload')}>
        <ErrorLine error={error} />
        {data && (data.workload.byQuality.length > 0 ? <WorkloadTable workload={data.workload} /> : <p class="muted">{t('hits.noneYet')}</p>)}
      </Card>
      <Card title={t('hits.list')}>
        <Field label={t('hits.status')}>
          <select name="status" value={status} onChange={(e) => setStatus(inputValue(e) as typeof status)}>
            {(['pending', 'confirmed', 'excluded', ''] as const).map((s) => (
              <option key={s} value={s}>
                {s ? t(`hits.status.${s}` as MessageKey) : t('common.all')}
              </option>
            ))}
          </select>
        </Field>
        {data && data.hits.length === 0 && <p class="muted">{t('hits.empty')}</p>}
        {data && data.hits.length > 0 && (
          <table class="grid hits">
            <thead>
              <tr>
                <th>{t('hits.col.quality')}</th>
                <th>{t('hits.col.direction')}</th>
                <th>{t('dash.col.state')}</th>
                <th>{t('hits.col.ours')}</th>
                <th>{t('hits.col.theirs')}</th>
                <th class="num">{t('hits.col.loci')}</th>
                <th>{t('hits.col.differs')}</th>
                <th>{t('hits.col.rmp')}</th>
                <th>{t('hits.status')}</th>
              </tr>
            </thead>
            <tbody>
              {data.hits.map((h) => (
                <tr key={h.id} class={open === h.id ? 'selected' : ''} onClick={() => setOpen(h.id)}>
                  <td>
                    <Badge tone={h.quality === 4 ? 'warn' : h.quality === 1 ? 'ok' : 'info'}>{h.quality}</Badge>
                  </td>
                  <td>{t(`hits.direction.${h.direction}` as MessageKey)}</td>
                  <td>{h.partner}</td>
                  <td>{h.ourProfileId}</td>
                  <td>{h.theirProfileRef}</td>
                  <td class="num">{h.matchedLoci ?? '–'} / {h.comparedLoci ?? '–'}</td>
                  <td>{h.differingLoci.join(', ') || '–'}</td>
                  <td>{oneIn(h.randomMatchProbability)}</td>
                  <td>
                    <Badge tone={statusTone(h.status)}>{t(`hits.status.${h.status}` as MessageKey)}</Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {open && <HitDetail key={open} id={open} onDecided={() => void reload()} />}
      <Comparisons />
    </Page>
  );
}

function statusTone(s: ValidationSummary['status']): Tone {
  return s === 'pending' ? 'warn' : s === 'confirmed' ? 'ok' : 'idle';
}

function oneIn(p: number | null): string {
  if (p === null || p <= 0) return '–';
  return t('hits.oneIn', { n: (1 / p).toExponential(1) });
}

function WorkloadTable({ workload }: { workload: Workload }) {
  return (
    <table class="grid">
      <thead>
        <tr>
          <th />
          <th class="num">{t('hits.status.pending')}</th>
          <th class="num">{t('hits.status.confirmed')}</th>
          <th class="num">{t('hits.status.excluded')}</th>
        </tr>
      </thead>
      <tbody>
        {workload.byQuality.map((q) => (
          <tr key={`q${q.quality}`}>
            <td>{t('hits.col.quality')} {q.quality}</td>
            <td class="num">{q.pending}</td>
            <td class="num">{q.confirmed}</td>
            <td class="num">{q.excluded}</td>
          </tr>
        ))}
        {workload.byPartner.map((p) => (
          <tr key={p.partner}>
            <td>{p.partner}</td>
            <td class="num">{p.pending}</td>
            <td class="num">{p.confirmed}</td>
            <td class="num">{p.excluded}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HitDetail({ id, onDecided }: { id: string; onDecided: () => void }) {
  const { data, error, reload } = useData(() => api<{ hit: ValidationDetail }>('GET', `/dna/validations/${encodeURIComponent(id)}`), [id]);
  const [reason, setReason] = useState('');
  const action = useAction();
  const decide = async (status: 'confirmed' | 'excluded') => {
    const r = await action.run(() => api('POST', `/dna/validations/${encodeURIComponent(id)}/decision`, { body: { status, reason } }), () => t('common.saved'));
    if (r) {
      void reload();
      onDecided();
    }
  };
  const followUp = async () => {
    const basis = await action.run(() => api<unknown>('GET', `/dna/validations/${encodeURIComponent(id)}/follow-up`));
    if (basis) downloadText(`dna-hit-${id}.json`, JSON.stringify(basis, null, 2), 'application/json');
  };
  const hit = data?.hit;
  return (
    <Card title={t('hits.detail')}>
      <ErrorLine error={error} />
      {hit && (
        <>
          <p>
            {t('hits.detailLine', { quality: hit.quality, ours: hit.ourProfileId, theirs: hit.theirProfileRef, partner: hit.partner, request: hit.requestId })}
          </p>
          {hit.statistics && (
            <table class="grid loci">
              <thead>
                <tr>
                  <th>{t('hits.col.locus')}</th>
                  <th>{t('hits.col.ours')}</th>
                  <th>{t('hits.col.theirs')}</th>
                  <th>{t('hits.col.verdict')}</th>
                </tr>
              </thead>
              <tbody>
                {hit.statistics.loci.map((l) => (
                  <tr key={l.locus} class={l.verdict.startsWith('differs') ? 'differs' : ''}>
                    <td>{l.locus}</td>
                    <td>{l.ours.join(', ')}</td>
                    <td>{l.theirs.join(', ')}</td>
                    <td>{t(`hits.verdict.${l.verdict}` as MessageKey)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {!hit.theirProfile && <p class="muted">{t('hits.theirsPurged')}</p>}
          {hit.statistics && (
            <p>
              {t('hits.figures', { matched: hit.statistics.matchedLoci, compared: hit.statistics.comparedLoci, rmp: oneIn(hit.statistics.randomMatchProbability) })}
            </p>
          )}
          {hit.status === 'pending' ? (
            <form onSubmit={(e) => e.preventDefault()}>
              <Field label={t('hits.reason')}>
                <input name="reason" value={reason} maxLength={2000} onInput={(e) => setReason(inputValue(e))} />
              </Field>
              <button type="button" class="primary" disabled={action.busy || reason.trim() === ''} onClick={() => void decide('confirmed')}>
                {t('hits.confirm')}
              </button>{' '}
              <button type="button" disabled={action.busy || reason.trim() === ''} onClick={() => void decide('excluded')}>
                {t('hits.exclude')}
              </button>
            </form>
          ) : (
            <p>
              {t('hits.decided', { status: t(`hits.status.${hit.status}` as MessageKey), by: hit.decidedBy ?? '?', reason: hit.reason ?? '' })}
            </p>
          )}
          {hit.status === 'confirmed' && (
            <button type="button" onClick={() => void followUp()} disabled={action.busy}>
              {t('hits.followUp')}
            </button>
          )}
          <Status action={action} />
        </>
      )}
    </Card>
  );
}

interface AgreementView {
  partner: string;
  type: 'P' | 'S';
  hourUtc: number;
  sentThrough: number | null;
  pending: number;
  lastRun: RunReport | null;
}

/** Art. 4 comparisons by agreement: each partner's last run, what waits for the next, and the hits by quality. */
function Comparisons() {
  const { data, error } = useData(() => api<{ agreements: AgreementView[]; runs: ComparisonRun[] }>('GET', '/dna/comparisons'), [], 30_000);
  return (
    <Card title={t('cmp.title')}>
      <ErrorLine error={error} />
      {data && data.agreements.length === 0 && <p class="muted">{t('cmp.none')}</p>}
      {data && data.agreements.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>{t('dash.col.state')}</th>
              <th>{t('cmp.col.type')}</th>
              <th class="num">{t('cmp.col.hour')}</th>
              <th class="num">{t('cmp.col.pending')}</th>
              <th>{t('cmp.col.lastRun')}</th>
              <th class="num">{t('cmp.col.progress')}</th>
              <th>{t('cmp.col.hits')}</th>
            </tr>
          </thead>
          <tbody>
            {data.agreements.map((a) => (
              <tr key={`${a.partner}-${a.type}`}>
                <td>{a.partner}</td>
                <td>{a.type}</td>
                <td class="num">{String(a.hourUtc).padStart(2, '0')}:00 UTC</td>
                <td class="num">{a.pending}</td>
                <td>{a.lastRun ? `${a.lastRun.kind}, ${t(`cmp.state.${a.lastRun.state}` as MessageKey)}, ${a.lastRun.startedAt.slice(0, 16).replace('T', ' ')}` : t('common.never')}</td>
                <td class="num">{a.lastRun ? `${a.lastRun.sent} / ${a.lastRun.total}` : '–'}</td>
                <td>{a.lastRun ? ([1, 2, 3, 4] as const).map((q) => `Q${q}: ${a.lastRun!.hitsByQuality[q]}`).join('  ') : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
