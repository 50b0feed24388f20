import { useEffect, useState } from 'preact/hooks';
import { CHANNELS, MEMBER_STATES } from '../../../appliance/peers/member-states.js';
import type { AuditExportJob, AuditSearchResult, UsbDrive } from '../../../appliance/api/wire.js';
import { api } from '../api.js';
import { Badge, Card, ErrorLine, Field, inputValue, Page, useAction, useData } from '../components.js';
import { bytes, dateInput, dateTime } from '../format.js';
import { t, type MessageKey } from '../i18n/index.js';

interface Filters {
  from: string;
  to: string;
  state: string;
  channel: string;
  officer: string;
  reference: string;
}

const PAGE = 50;

/** Date inputs are local days; the API takes instants: [from 00:00, to+1 day 00:00). */
function period(f: Filters): { from: string; to: string } {
  const from = new Date(`${f.from}T00:00:00`);
  const to = new Date(`${f.to}T00:00:00`);
  to.setDate(to.getDate() + 1);
  return { from: from.toISOString(), to: to.toISOString() };
}

function query(f: Filters, offset: number): string {
  const p = new URLSearchParams({ ...period(f), limit: String(PAGE), offset: String(offset) });
  for (const k of ['state', 'channel', 'officer', 'reference'] as const) if (f[k]) p.set(k, f[k]);
  return p.toString();
}

function FilterFields({ f, set }: { f: Filters; set: (f: (old: Filters) => Filters) => void }) {
  const bind = (k: keyof Filters) => ({
    name: k,
    value: f[k],
    onInput: (e: Event) => {
      const v = inputValue(e);
      set((o) => ({ ...o, [k]: v }));
    },
  });
  return (
    <div class="form-grid">
      <Field label={t('audit.from')}>
        <input type="date" {...bind('from')} required />
      </Field>
      <Field label={t('audit.to')}>
        <input type="date" {...bind('to')} required />
      </Field>
      <Field label={t('audit.state')}>
        <select {...bind('state')} onChange={(e) => {
          const v = inputValue(e);
          set((o) => ({ ...o, state: v }));
        }}>
          <option value="">{t('common.all')}</option>
          {MEMBER_STATES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </Field>
      <Field label={t('audit.channel')}>
        <select {...bind('channel')} onChange={(e) => {
          const v = inputValue(e);
          set((o) => ({ ...o, channel: v }));
        }}>
          <option value="">{t('common.all')}</option>
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {t(`channel.${c}` as MessageKey)}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('audit.officer')}>
        <input {...bind('officer')} maxLength={64} />
      </Field>
      <Field label={t('audit.reference')}>
        <input {...bind('reference')} maxLength={128} />
      </Field>
    </div>
  );
}

function ExportWizard({ filters }: { filters: Filters }) {
  const [step, setStep] = useState(0);
  const [kind, setKind] = useState<'usb' | 'directory'>('usb');
  const [driveId, setDriveId] = useState('');
  const [path, setPath] = useState('');
  const [f, setF] = useState(filters);
  const [job, setJob] = useState<AuditExportJob | null>(null);
  const drives = useData(() => api<{ drives: UsbDrive[] }>('GET', '/audit/usb-drives'), [step]);
  const action = useAction();

  useEffect(() => {
    const first = drives.data?.drives[0];
    if (!driveId && first) setDriveId(first.id);
  }, [drives.data]);

  useEffect(() => {
    if (!job || job.finishedAt) return;
    const timer = setTimeout(async () => {
      const r = await api<{ export: AuditExportJob }>('GET', `/audit/exports/${job.id}`, { background: true }).catch(() => null);
      if (r) setJob(r.export);
    }, 400);
    return () => clearTimeout(timer);
  }, [job]);

  const target = kind === 'usb' ? { kind, driveId } : { kind, path };
  const targetName = kind === 'usb' ? (drives.data?.drives.find((d) => d.id === driveId)?.label ?? driveId) : path;
  const start = async () => {
    const body = { target, ...period(f), ...Object.fromEntries((['state', 'channel', 'officer', 'reference'] as const).filter((k) => f[k]).map((k) => [k, f[k]])) };
    const r = await action.run(() => api<{ export: AuditExportJob }>('POST', '/audit/exports', { body }));
    if (r) setJob(r.export);
  };

  if (step === 0) {
    return (
      <button class="primary" onClick={() => setStep(1)}>
        {t('audit.export.start')}
      </button>
    );
  }
  const pct = job && job.progress.total > 0 ? Math.round((job.progress.done / job.progress.total) * 100) : job?.finishedAt ? 100 : 0;
  return (
    <div class="wizard" data-step={step}>
      <ol class="steps">
        {(['audit.export.step1', 'audit.export.step2', 'audit.export.step3'] as const).map((k, i) => (
          <li key={k} class={i + 1 === step ? 'current' : i + 1 < step ? 'done' : ''}>
            {t(k)}
          </li>
        ))}
      </ol>
      {step === 1 && (
        <>
          <label class="check">
            <input type="radio" name="target" checked={kind === 'usb'} onChange={() => setKind('usb')} /> {t('audit.export.usb')}
          </label>
          {kind === 'usb' &&
            (drives.data && drives.data.drives.length === 0 ? (
              <p class="muted">{t('audit.export.noUsb')}</p>
            ) : (
              <select name="drive" value={driveId} onChange={(e) => setDriveId(inputValue(e))}>
                {drives.data?.drives.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.label} ({d.id.replace(/^dev:/, '')}
                    {d.sizeBytes !== null ? `, ${bytes(d.sizeBytes)}` : ''})
                  </option>
                ))}
              </select>
            ))}
          <button onClick={() => void drives.reload()}>{t('common.refresh')}</button>
          <label class="check">
            <input type="radio" name="target" checked={kind === 'directory'} onChange={() => setKind('directory')} /> {t('audit.export.dir')}
          </label>
          {kind === 'directory' && (
            <Field label={t('audit.export.path')}>
              <input name="export-path" value={path} onInput={(e) => setPath(inputValue(e))} placeholder="/srv/exports" />
            </Field>
          )}
          <ErrorLine error={drives.error} />
          <div class="row">
            <button class="primary" disabled={kind === 'usb' ? !driveId : !path.startsWith('/')} onClick={() => setStep(2)}>
              {t('common.next')}
            </button>
          </div>
        </>
      )}
      {step === 2 && (
        <>
          <FilterFields f={f} set={setF} />
          <div class="row">
            <button onClick={() => setStep(1)}>{t('common.back')}</button>
            <button class="primary" onClick={() => setStep(3)}>
              {t('common.next')}
            </button>
          </div>
        </>
      )}
      {step === 3 && (
        <>
          <p>{t('audit.export.summary', { from: f.from, to: f.to, target: targetName })}</p>
          {!job && (
            <div class="row">
              <button onClick={() => setStep(2)}>{t('common.back')}</button>
              <button class="primary" disabled={action.busy} onClick={() => void start()}>
                {t('audit.export.run')}
              </button>
            </div>
          )}
          <ErrorLine error={action.error} />
          {job && (
            <div class="export-job" data-phase={job.progress.phase}>
              <p>{t(`audit.export.phase.${job.progress.phase}` as MessageKey)}</p>
              <progress max={100} value={pct} />
              {job.error && <p class="error">{job.error}</p>}
              {job.result && <p class="muted">{t('audit.export.writtenTo', { path: job.result.path })}</p>}
              {job.verification &&
                (job.verification.ok ? (
                  <p class="ok-line" data-verified="true">
                    <Badge tone="ok">✓</Badge> {t('audit.export.verified', { n: job.verification.entries })}
                  </p>
                ) : (
                  <div class="error" data-verified="false">
                    <strong>{t('audit.export.verifyFailed')}</strong>
                    <ul>
                      {job.verification.problems.map((p) => (
                        <li key={p}>{p}</li>
                      ))}
                    </ul>
                  </div>
                ))}
              {job.finishedAt && (
                <button
                  onClick={() => {
                    setJob(null);
                    setStep(1);
                  }}
                >
                  {t('audit.export.again')}
                </button>
              )}
            </div>
          )}
        </>
      )}
    </div>
  );
}

export function Audit() {
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86_400_000);
  const [filters, setFilters] = useState<Filters>({ from: dateInput(monthAgo), to: dateInput(today), state: '', channel: '', officer: '', reference: '' });
  const [applied, setApplied] = useState(filters);
  const [offset, setOffset] = useState(0);
  const { data, error } = useData(() => api<AuditSearchResult>('GET', `/audit/entries?${query(applied, offset)}`), [applied, offset]);

  return (
    <Page title="audit.title" help={t('audit.help')}>
      <Card>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setOffset(0);
            setApplied({ ...filters });
          }}
        >
          <FilterFields f={filters} set={setFilters} />
          <button type="submit" class="primary">
            {t('audit.search')}
          </button>
        </form>
      </Card>
      <ErrorLine error={error} />
      {data && (
        <Card title={t('audit.results', { n: data.total })}>
          {data.entries.length === 0 ? (
            <p class="muted">{t('audit.empty')}</p>
          ) : (
            <table class="grid audit">
              <thead>
                <tr>
                  <th>{t('audit.col.at')}</th>
                  <th>{t('audit.col.kind')}</th>
                  <th>{t('audit.state')}</th>
                  <th>{t('audit.channel')}</th>
                  <th>{t('audit.officer')}</th>
                  <th>{t('audit.reference')}</th>
                  <th>{t('audit.col.outcome')}</th>
                  <th>{t('audit.col.summary')}</th>
                </tr>
              </thead>
              <tbody>
                {data.entries.map((e) => (
                  <tr key={e.seq} data-seq={e.seq}>
                    <td>{dateTime(e.at)}</td>
                    <td>{e.kind}</td>
                    <td>
                      {e.state ?? '—'} {e.direction === 'in' ? '→' : e.direction === 'out' ? '←' : ''}
                    </td>
                    <td>{e.channel ? t(`channel.${e.channel}` as MessageKey) : '—'}</td>
                    <td>{e.officer ?? '—'}</td>
                    <td class="wrap">{e.reference ?? '—'}</td>
                    <td>{e.outcome ?? '—'}</td>
                    <td class="wrap">{e.summary}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div class="row">
            <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              {t('audit.prev')}
            </button>
            <button disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
              {t('audit.next')}
            </button>
          </div>
        </Card>
      )}
      <Card title={t('audit.export.title')}>
        <ExportWizard filters={applied} />
      </Card>
    </Page>
  );
}
