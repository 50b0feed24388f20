import { useEffect, useState } from 'preact/hooks';
import type { MemberStateCode } from '../../../appliance/peers/member-states.js';
import type { FullDataSet, Holder, Insurance, Owner, VehicleIdentity, VehicleQuery } from '../../../appliance/vehicle/data-set.js';
import type { TargetView, VehicleSearchView } from '../../../appliance/vehicle/searches.js';
import type { VehicleSearchProgress } from '../../../appliance/vehicle/console-routes.js';
import { api } from '../api.js';
import { useApp } from '../app.js';
import { Badge, Card, ErrorLine, Field, inputValue, Page, useData, type Tone } from '../components.js';
import { dateOnly, dateTime } from '../format.js';
import { stateName, t, type MessageKey } from '../i18n/index.js';
import { MyPassword } from './accounts.js';

/** How often a search with States still queued or being asked is looked at again (outcomes only, not logged). */
const POLL_MS = 3_000;

type By = 'vin' | 'plate';
interface Form {
  by: By;
  vin: string;
  plate: string;
  scope: 'all' | 'one';
  state: string;
  reference: string;
  ordering: string;
  reason: string;
}

type AnyTarget = TargetView | VehicleSearchProgress['targets'][number];

/** What a State's row says: its status, and for an answer, what kind. */
function outcome(target: AnyTarget): { key: MessageKey; tone: Tone } {
  if (target.status === 'answered') {
    const kind = target.result?.kind;
    if (kind === 'full') return { key: 'vrd.status.found', tone: 'ok' };
    if (kind === 'refine') return { key: 'vrd.status.refine', tone: 'info' };
    return { key: 'vrd.status.noMatch', tone: 'idle' };
  }
  const tone: Record<string, Tone> = { pending: 'info', fault: 'bad', failed: 'bad', 'timed-out': 'warn', queued: 'warn', expired: 'bad' };
  return { key: `vrd.status.${target.status}` as MessageKey, tone: tone[target.status] ?? 'idle' };
}

function queryText(q: VehicleQuery): string {
  const main = q.kind === 'vin' ? t('vrd.query.vin', { vin: q.vin }) : q.vin ? t('vrd.query.plateVin', { plate: q.licenceNumber, vin: q.vin }) : t('vrd.query.plate', { plate: q.licenceNumber });
  return q.referenceDateTime ? `${main} ${t('vrd.query.at', { time: dateTime(q.referenceDateTime) })}` : main;
}

function Row({ label, value }: { label: MessageKey; value: string | number | undefined | null }) {
  if (value === undefined || value === null || value === '') return null;
  return (
    <>
      <dt>{t(label)}</dt>
      <dd>{value}</dd>
    </>
  );
}

function period(start?: string, end?: string): string | undefined {
  if (!start && !end) return undefined;
  return `${start ? dateOnly(start) : '…'} – ${end ? dateOnly(end) : '…'}`;
}

function PartyView({ party, kind }: { party: Holder | Owner; kind: 'holder' | 'owner' }) {
  const holderType = kind === 'holder' ? (party as Holder).holderType : undefined;
  return (
    <dl class="kv party" data-party={kind}>
      <Row label="vrd.f.name" value={party.name.printable} />
      <Row label="vrd.f.firstName" value={party.firstName?.printable} />
      <Row label="vrd.f.address" value={party.address.printable} />
      <Row label="vrd.f.gender" value={party.gender ? t(`vrd.gender.${party.gender}` as MessageKey) : undefined} />
      <Row label="vrd.f.dateOfBirth" value={party.dateOfBirth ? dateOnly(party.dateOfBirth) : undefined} />
      <Row label="vrd.f.placeOfBirth" value={party.placeOfBirth} />
      <Row label="vrd.f.legalEntity" value={t(`vrd.entity.${party.legalEntity}` as MessageKey)} />
      <Row label="vrd.f.identification" value={party.identification ? `${party.identification.idNumber} (${party.identification.idType})` : undefined} />
      <Row label="vrd.f.period" value={period(party.startDate, party.endDate)} />
      <Row label="vrd.f.holderType" value={holderType ? t(`vrd.holderType.${holderType}` as MessageKey) : undefined} />
    </dl>
  );
}

function InsuranceView({ insurance }: { insurance: Insurance }) {
  return (
    <dl class="kv insurance">
      <Row label="vrd.f.company" value={insurance.companyName} />
      <Row label="vrd.f.insuranceNumber" value={insurance.insuranceNumber} />
      <Row label="vrd.f.period" value={period(insurance.beginDate, insurance.endDate)} />
      <Row label="vrd.f.address" value={insurance.address?.printable} />
      <Row label="vrd.f.identification" value={insurance.identification ? `${insurance.identification.idNumber} (${insurance.identification.idType})` : undefined} />
    </dl>
  );
}

/** The full data set of one State's answer: vehicle, holders, owners, insurance (Annex ch.3 §1.2.2.2). */
function DataSetView({ state, data, onClose }: { state: MemberStateCode; data: FullDataSet; onClose: () => void }) {
  const v = data.vehicle;
  const stolen = v.status.code === 'stolen';
  return (
    <Card title={t('vrd.dataSet', { state: `${state} — ${stateName(state)}` })} class="data-set">
      <div data-full-set={state} data-current={String(data.dataIsCurrent)}>
        {data.dataIsCurrent && (
          <p class="warn-line" role="status" data-data-is-current>
            {t('vrd.dataIsCurrent')}
          </p>
        )}
        <h3>{t('vrd.vehicle')}</h3>
        <dl class="kv vehicle">
          <Row label="vrd.f.licenceNumber" value={v.licenceNumber} />
          <Row label="vrd.f.vin" value={v.vin} />
          <Row label="vrd.f.country" value={`${v.countryOfRegistration} — ${stateName(v.countryOfRegistration)}`} />
          <Row label="vrd.f.make" value={v.make} />
          <Row label="vrd.f.commercialType" value={v.commercialType} />
          <Row label="vrd.f.euCategory" value={v.euCategory} />
          <Row label="vrd.f.firstRegistration" value={dateOnly(v.firstRegistrationDate)} />
          <Row label="vrd.f.registrationStart" value={dateOnly(v.registrationStart)} />
          <Row label="vrd.f.registrationEnd" value={v.registrationEnd ? dateOnly(v.registrationEnd) : undefined} />
          <dt>{t('vrd.f.status')}</dt>
          <dd data-vehicle-status={v.status.code}>
            <Badge tone={stolen ? 'bad' : 'idle'}>{t(`vrd.vstatus.${v.status.code}` as MessageKey)}</Badge> {period(v.status.start, v.status.end) ?? t('vrd.since', { date: dateOnly(v.status.start) })}
          </dd>
          <Row label="vrd.f.kw" value={v.kw} />
          <Row label="vrd.f.capacity" value={v.capacity} />
          <Row label="vrd.f.licenceNumberType" value={v.licenceNumberType} />
          <Row label="vrd.f.documents" value={[v.documentId1, v.documentId2].filter(Boolean).join(', ')} />
        </dl>
        <h3>{t('vrd.holders')}</h3>
        {data.holders.length ? data.holders.map((h, i) => <PartyView key={i} party={h} kind="holder" />) : <p class="muted">{t('vrd.none')}</p>}
        <h3>{t('vrd.owners')}</h3>
        {data.owners.length ? data.owners.map((o, i) => <PartyView key={i} party={o} kind="owner" />) : <p class="muted">{t('vrd.none')}</p>}
        <h3>{t('vrd.insurances')}</h3>
        {data.insurances.length ? data.insurances.map((x, i) => <InsuranceView key={i} insurance={x} />) : <p class="muted">{t('vrd.none')}</p>}
      </div>
      <button onClick={onClose}>{t('common.close')}</button>
    </Card>
  );
}

function RefineView({ state, vehicles, onRefine }: { state: MemberStateCode; vehicles: readonly VehicleIdentity[]; onRefine: (state: MemberStateCode, v: VehicleIdentity) => void }) {
  return (
    <div class="refine" data-refine={state}>
      <p class="muted">{t('vrd.vehicles', { n: vehicles.length })}</p>
      <table class="grid">
        <thead>
          <tr>
            <th>{t('vrd.f.licenceNumber')}</th>
            <th>{t('vrd.f.vin')}</th>
            <th>{t('vrd.f.country')}</th>
            <th>{t('vrd.f.make')}</th>
            <th>{t('vrd.f.commercialType')}</th>
            <th>{t('vrd.f.euCategory')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {vehicles.map((v) => (
            <tr key={v.vin} data-refine-vin={v.vin}>
              <td>{v.licenceNumber}</td>
              <td>
                <code>{v.vin}</code>
              </td>
              <td>{v.countryOfRegistration}</td>
              <td>{v.make}</td>
              <td>{v.commercialType}</td>
              <td>{v.euCategory}</td>
              <td>
                <button onClick={() => onRefine(state, v)}>{t('vrd.refineThis')}</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The consolidated answer: one row per State asked, the lists by outcome, and the answers. */
function ResultView({ search, onOpen, onRefine }: { search: VehicleSearchView; onOpen: (state: MemberStateCode) => void; onRefine: (state: MemberStateCode, v: VehicleIdentity) => void }) {
  const waiting = search.targets.filter((x) => x.status === 'queued' || x.status === 'pending').length;
  const lists: Array<[MessageKey, readonly MemberStateCode[]]> = [
    ['vrd.summary.answered', search.answered],
    ['vrd.summary.faults', search.faults],
    ['vrd.summary.failed', search.failed],
    ['vrd.summary.timedOut', search.timedOut],
    ['vrd.summary.queued', search.queued],
  ];
  return (
    <Card title={t('vrd.result')} class="vrd-result">
      <div data-search={search.id} data-complete={String(search.complete)}>
        <p class="muted">{t('vrd.resultFor', { query: queryText(search.query), time: dateTime(search.createdAt), reason: search.reason })}</p>
        <p class="consolidated">
          {lists
            .filter(([, states]) => states.length > 0)
            .map(([key, states]) => (
              <span key={key} class="consolidated-group" data-group={key.slice('vrd.summary.'.length)}>
                <strong>{t(key)}:</strong> {states.join(', ')}{' '}
              </span>
            ))}
        </p>
        <p class={waiting ? 'warn-line' : 'ok-line'} role="status">
          {waiting ? t('vrd.waiting', { n: waiting }) : t('vrd.complete')}
        </p>
        <table class="grid vrd-targets">
          <thead>
            <tr>
              <th>{t('vrd.col.state')}</th>
              <th>{t('vrd.col.outcome')}</th>
              <th>{t('vrd.col.detail')}</th>
              <th>{t('vrd.col.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {search.targets.map((x) => {
              const o = outcome(x);
              const r = x.result;
              return (
                <tr key={x.state} data-target-state={x.state} data-status={x.status} data-result={r?.kind ?? ''}>
                  <td>
                    <strong>{x.state}</strong> <span class="muted">{stateName(x.state)}</span>
                  </td>
                  <td>
                    <Badge tone={o.tone}>{t(o.key)}</Badge>
                  </td>
                  <td>
                    {r?.kind === 'full' && (
                      <span>
                        {r.dataSet.vehicle.make} {r.dataSet.vehicle.commercialType} · {r.dataSet.vehicle.licenceNumber}{' '}
                        <button class="primary" onClick={() => onOpen(x.state)}>
                          {t('vrd.open')}
                        </button>
                      </span>
                    )}
                    {r?.kind === 'refine' && <RefineView state={x.state} vehicles={r.vehicles} onRefine={onRefine} />}
                    {x.fault && (
                      <span>
                        <code>{x.fault.code}</code> {x.fault.text}
                      </span>
                    )}
                    {x.detail && !x.fault && <span class="muted">{x.detail}</span>}
                    {x.status === 'queued' && <span class="muted"> · {t('vrd.attempts', { n: x.attempts })}</span>}
                  </td>
                  <td>{dateTime(x.updatedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

const EMPTY: Form = { by: 'vin', vin: '', plate: '', scope: 'all', state: '', reference: '', ordering: '', reason: '' };

/**
 * What the page shows, kept across a remount (switching the language redraws the whole console) without asking
 * the gateway again — that would be another recorded read. Only ever given back to the same signed-in account.
 */
let kept: { readonly userId: number; readonly form: Form; readonly search: VehicleSearchView | null; readonly opened: MemberStateCode | null } | null = null;

export function VehicleSearch() {
  const { session } = useApp();
  const userId = session.user?.id ?? -1;
  const restore = kept && kept.userId === userId ? kept : null;
  const partners = useData(() => api<{ ourState: MemberStateCode; states: Array<{ state: MemberStateCode }> }>('GET', '/vrd/partners'), []);
  const recent = useData(() => api<{ searches: VehicleSearchProgress[] }>('GET', '/vrd/searches'), []);
  const [form, setForm] = useState<Form>(restore?.form ?? EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [search, setSearch] = useState<VehicleSearchView | null>(restore?.search ?? null);
  const [opened, setOpened] = useState<MemberStateCode | null>(restore?.opened ?? null);
  useEffect(() => {
    kept = { userId, form, search, opened };
  }, [userId, form, search, opened]);
  const states = partners.data?.states.map((s) => s.state) ?? [];
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  // Poll the outcomes while a State is queued or being asked; when one changes, read the answers again (recorded).
  useEffect(() => {
    if (!search || search.complete) return;
    let alive = true;
    const timer = setInterval(async () => {
      const p = await api<VehicleSearchProgress>('GET', `/vrd/searches/${search.id}/progress`, { background: true }).catch(() => null);
      if (!alive || !p) return;
      const changed = p.targets.some((x) => search.targets.find((y) => y.state === x.state)?.status !== x.status);
      if (!changed) return;
      const full = await api<VehicleSearchView>('GET', `/vrd/searches/${search.id}`, { background: true }).catch(() => null);
      if (alive && full) {
        setSearch(full);
        void recent.reload();
      }
    }, POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [search?.id, search?.complete, search?.targets.map((x) => x.status).join()]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setOpened(null);
    try {
      const one = form.by === 'plate' || form.scope === 'one';
      const body = {
        orderingOfficerId: form.ordering.trim(),
        reason: form.reason.trim(),
        ...(form.by === 'vin' ? { vin: form.vin.trim() } : { licenceNumber: form.plate.trim(), ...(form.vin.trim() ? { vin: form.vin.trim() } : {}) }),
        ...(form.reference ? { referenceDateTime: new Date(form.reference).toISOString() } : {}),
        targets: one ? [form.state || states[0] || ''] : 'all',
      };
      const result = await api<VehicleSearchView>('POST', '/vrd/searches', { body });
      setSearch(result);
      void recent.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const openSearch = async (id: string) => {
    setError(null);
    setOpened(null);
    try {
      setSearch(await api<VehicleSearchView>('GET', `/vrd/searches/${id}`));
    } catch (err) {
      setError(err);
    }
  };

  // A refine-search answer: ask that State again by plate and the chosen vehicle's VIN (Annex ch.3 §1.2.1).
  const refine = (state: MemberStateCode, v: VehicleIdentity) => {
    setForm((f) => ({ ...f, by: 'plate', plate: v.licenceNumber, vin: v.vin, scope: 'one', state }));
    scrollTo(0, 0);
  };

  const openedTarget = opened && search ? search.targets.find((x) => x.state === opened) : undefined;
  const openedData = openedTarget?.result?.kind === 'full' ? openedTarget.result.dataSet : null;

  return (
    <Page title="vrd.title" help={t('vrd.help')}>
      <Card title={t('vrd.new')}>
        {partners.data && states.length === 0 && <p class="warn-line">{t('vrd.noPartners')}</p>}
        <form class="form-grid vrd-form" onSubmit={submit}>
          <fieldset class="checks">
            <legend>{t('vrd.by')}</legend>
            <label class="check">
              <input type="radio" name="by" value="vin" checked={form.by === 'vin'} onChange={() => set('by', 'vin')} /> {t('vrd.by.vin')}
            </label>
            <label class="check">
              <input type="radio" name="by" value="plate" checked={form.by === 'plate'} onChange={() => set('by', 'plate')} /> {t('vrd.by.plate')}
            </label>
          </fieldset>
          {form.by === 'plate' && (
            <Field label={t('vrd.plate')}>
              <input name="plate" value={form.plate} onInput={(e) => set('plate', inputValue(e))} required maxLength={32} autoComplete="off" />
            </Field>
          )}
          <Field label={form.by === 'vin' ? t('vrd.vin') : t('vrd.vinOptional')}>
            <input name="vin" value={form.vin} onInput={(e) => set('vin', inputValue(e))} required={form.by === 'vin'} maxLength={64} autoComplete="off" spellcheck={false} />
          </Field>
          {form.by === 'vin' && (
            <fieldset class="checks">
              <legend>{t('vrd.where')}</legend>
              <label class="check">
                <input type="radio" name="scope" value="all" checked={form.scope === 'all'} onChange={() => set('scope', 'all')} /> {t('vrd.allStates', { n: states.length })}
              </label>
              <label class="check">
                <input type="radio" name="scope" value="one" checked={form.scope === 'one'} onChange={() => set('scope', 'one')} /> {t('vrd.oneState')}
              </label>
            </fieldset>
          )}
          {(form.by === 'plate' || form.scope === 'one') && (
            <Field label={t('vrd.state')}>
              <select name="state" value={form.state || states[0] || ''} onChange={(e) => set('state', inputValue(e))} required>
                {states.map((s) => (
                  <option key={s} value={s}>
                    {s} — {stateName(s)}
                  </option>
                ))}
              </select>
            </Field>
          )}
          <Field label={t('vrd.reference')} hint={t('vrd.referenceHint')}>
            <input type="datetime-local" name="reference" value={form.reference} onInput={(e) => set('reference', inputValue(e))} step={1} />
          </Field>
          <Field label={t('vrd.ordering')} hint={t('vrd.orderingHint')}>
            <input name="ordering-officer" value={form.ordering} onInput={(e) => set('ordering', inputValue(e))} required maxLength={64} pattern="[A-Za-z0-9._@\-]{1,64}" autoComplete="off" />
          </Field>
          <Field label={t('vrd.reason')} hint={t('vrd.reasonHint')}>
            <textarea name="reason" value={form.reason} onInput={(e) => set('reason', inputValue(e))} required minLength={3} maxLength={1000} rows={2} />
          </Field>
          <p class="muted">{t('vrd.searchingAs', { officer: session.user?.username ?? '' })}</p>
          <button type="submit" class="primary" disabled={busy || states.length === 0}>
            {t('vrd.submit')}
          </button>
        </form>
        {busy && (
          <p class="muted" role="status">
            {t('vrd.searching')}
          </p>
        )}
        <ErrorLine error={error ?? partners.error} />
      </Card>

      {search && <ResultView search={search} onOpen={setOpened} onRefine={refine} />}
      {openedData && opened && <DataSetView state={opened} data={openedData} onClose={() => setOpened(null)} />}

      <Card title={t('vrd.recent')}>
        {recent.data && recent.data.searches.length === 0 && <p class="muted">{t('vrd.recentNone')}</p>}
        {recent.data && recent.data.searches.length > 0 && (
          <table class="grid vrd-recent">
            <tbody>
              {recent.data.searches.map((s) => (
                <tr key={s.id} data-recent={s.id}>
                  <td>{dateTime(s.createdAt)}</td>
                  <td>{queryText(s.query)}</td>
                  <td>
                    {s.targets.map((x) => {
                      const o = outcome(x);
                      return (
                        <span key={x.state} title={t(o.key)}>
                          <Badge tone={o.tone}>{x.state}</Badge>{' '}
                        </span>
                      );
                    })}
                  </td>
                  <td>
                    <button onClick={() => void openSearch(s.id)}>{t('vrd.open')}</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorLine error={recent.error} />
      </Card>

      <details class="my-account">
        <summary>{t('vrd.myAccount')}</summary>
        <MyPassword />
      </details>
    </Page>
  );
}
