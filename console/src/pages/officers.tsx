import { useState } from 'preact/hooks';
import type { Channel } from '../../../appliance/peers/member-states.js';
import { CHANNELS } from '../../../appliance/peers/member-states.js';
import type { Officer, OfficersClientView, StatisticsRow } from '../../../appliance/api/wire.js';
import { api } from '../api.js';
import { useApp } from '../app.js';
import { StackedBars } from '../charts.js';
import { Badge, Card, ErrorLine, Field, inputValue, Page, Status, useAction, useData } from '../components.js';
import { dateOnly, dateTime, number } from '../format.js';
import { stateName, t, type MessageKey } from '../i18n/index.js';

interface Draft {
  id: string;
  name: string;
  agency: string;
  channels: Channel[];
  until: string;
}

const EMPTY: Draft = { id: '', name: '', agency: '', channels: ['dna'], until: '' };

function OfficerForm({ draft, setDraft, onSaved }: { draft: Draft; setDraft: (d: Draft | ((d: Draft) => Draft)) => void; onSaved: () => void }) {
  const action = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = { name: draft.name, agency: draft.agency, channels: draft.channels, authorisedUntil: draft.until ? new Date(`${draft.until}T23:59:59`).toISOString() : null };
    const r = await action.run(() => api('PUT', `/officers/${encodeURIComponent(draft.id)}`, { body }), () => t('common.saved'));
    if (r) {
      setDraft(EMPTY);
      onSaved();
    }
  };
  const bind = (k: 'id' | 'name' | 'agency' | 'until') => ({ name: `officer-${k}`, value: draft[k], onInput: (e: Event) => {
      const v = inputValue(e);
      setDraft((d) => ({ ...d, [k]: v }));
    },
  });
  return (
    <form class="form-grid" onSubmit={submit}>
      <Field label={t('off.col.id')}>
        <input {...bind('id')} required pattern="[A-Za-z0-9._/\-]{2,64}" />
      </Field>
      <Field label={t('off.col.name')}>
        <input {...bind('name')} required maxLength={120} />
      </Field>
      <Field label={t('off.col.agency')}>
        <input {...bind('agency')} required maxLength={120} />
      </Field>
      <Field label={t('off.col.until')}>
        <input type="date" {...bind('until')} />
      </Field>
      <fieldset class="checks">
        <legend>{t('off.col.channels')}</legend>
        {CHANNELS.map((c) => (
          <label key={c} class="check">
            <input
              type="checkbox"
              name={`channel-${c}`}
              checked={draft.channels.includes(c)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setDraft((d) => ({ ...d, channels: on ? [...d.channels.filter((x) => x !== c), c] : d.channels.filter((x) => x !== c) }));
              }}
            />{' '}
            {t(`channel.${c}` as MessageKey)}
          </label>
        ))}
      </fieldset>
      <button type="submit" class="primary" disabled={action.busy || draft.channels.length === 0}>
        {t('off.save')}
      </button>
      <Status action={action} />
    </form>
  );
}

/** The officers' API client credentials (one per national client system). */
function Clients({ canWrite }: { canWrite: boolean }) {
  const list = useData(() => api<{ clients: OfficersClientView[] }>('GET', '/officers-clients'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [made, setMade] = useState<{ name: string; credential: string } | null>(null);
  const add = async (e: Event) => {
    e.preventDefault();
    const r = await action.run(() => api<{ client: OfficersClientView; credential: string }>('POST', '/officers-clients', { body: { name } }));
    if (r) {
      setMade({ name: r.client.name, credential: r.credential });
      setName('');
      void list.reload();
    }
  };
  const revoke = async (id: string) => {
    await action.run(() => api('POST', `/officers-clients/${encodeURIComponent(id)}/revoke`));
    void list.reload();
  };
  return (
    <Card title={t('oc.title')}>
      <p class="muted">{t('oc.help')}</p>
      <ErrorLine error={list.error} />
      <Status action={action} />
      {made && (
        <p class="credential">
          {t('oc.credential', { name: made.name })} <code>{made.credential}</code>
        </p>
      )}
      {list.data && list.data.clients.length === 0 && <p class="muted">{t('oc.none')}</p>}
      {list.data && list.data.clients.length > 0 && (
        <table class="grid clients">
          <thead>
            <tr>
              <th>{t('oc.col.name')}</th>
              <th>{t('oc.col.created')}</th>
              <th>{t('oc.col.lastUsed')}</th>
              <th>{t('off.col.status')}</th>
              {canWrite && <th>{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.clients.map((c) => (
              <tr key={c.id} data-client={c.name}>
                <td>{c.name}</td>
                <td>
                  {dateTime(c.createdAt)} <span class="muted">{c.createdBy}</span>
                </td>
                <td>{c.lastUsedAt ? dateTime(c.lastUsedAt) : t('oc.never')}</td>
                <td>{c.revokedAt ? <Badge tone="idle">{t('off.revoked')}</Badge> : <Badge tone="ok">{t('off.active')}</Badge>}</td>
                {canWrite && <td class="actions">{!c.revokedAt && <button onClick={() => void revoke(c.id)}>{t('off.revoke')}</button>}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && (
        <form class="form-grid" onSubmit={add}>
          <h3>{t('oc.add')}</h3>
          <Field label={t('oc.col.name')}>
            <input name="client-name" value={name} onInput={(e) => setName(inputValue(e))} required pattern="[a-z0-9][a-z0-9._\-]{1,47}" />
          </Field>
          <button type="submit" class="primary" disabled={action.busy}>
            {t('oc.make')}
          </button>
        </form>
      )}
    </Card>
  );
}

function Statistics() {
  const [year, setYear] = useState(new Date().getFullYear());
  const { data, error } = useData(() => api<{ year: number; rows: StatisticsRow[] }>('GET', `/statistics/${year}`), [year]);
  const rows = data?.rows ?? [];
  const byState = new Map<string, { hits: number; noHits: number }>();
  for (const r of rows) {
    const s = byState.get(r.state) ?? { hits: 0, noHits: 0 };
    s.hits += r.hits;
    s.noHits += r.noHits;
    byState.set(r.state, s);
  }
  const total = rows.reduce((a, r) => ({ requests: a.requests + r.requests, hits: a.hits + r.hits, noHits: a.noHits + r.noHits, errors: a.errors + r.errors }), { requests: 0, hits: 0, noHits: 0, errors: 0 });
  const years = Array.from({ length: 6 }, (_, i) => new Date().getFullYear() - i);
  return (
    <Card title={t('stats.title')}>
      <div class="row spread">
        <Field label={t('stats.year')}>
          <select name="year" value={String(year)} onChange={(e) => setYear(Number(inputValue(e)))}>
            {years.map((y) => (
              <option key={y}>{y}</option>
            ))}
          </select>
        </Field>
        <span>
          <a class="button" href={`/api/statistics/${year}.csv`} download>
            {t('stats.csv')}
          </a>{' '}
          <a class="button" href={`/api/statistics/${year}.html`} target="_blank" rel="noopener">
            {t('stats.print')}
          </a>
        </span>
      </div>
      <ErrorLine error={error} />
      {data && rows.length === 0 && <p class="muted">{t('stats.empty', { year })}</p>}
      {rows.length > 0 && (
        <>
          <StackedBars
            label={t('stats.chart')}
            groups={[...byState].map(([label, v]) => ({ label, values: [v.hits, v.noHits] }))}
            classes={['s-hit', 's-nohit']}
            names={[t('stats.col.hits'), t('stats.col.noHits')]}
          />
          <p class="legend">
            <span class="key s-hit" /> {t('stats.col.hits')} <span class="key s-nohit" /> {t('stats.col.noHits')}
          </p>
          <table class="grid stats">
            <thead>
              <tr>
                <th>{t('dash.col.state')}</th>
                <th>{t('dash.col.channel')}</th>
                <th>{t('dash.col.direction')}</th>
                <th class="num">{t('stats.col.requests')}</th>
                <th class="num">{t('stats.col.hits')}</th>
                <th class="num">{t('stats.col.noHits')}</th>
                <th class="num">{t('stats.col.errors')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.state}-${r.channel}-${r.direction}`}>
                  <td>
                    {r.state} <span class="muted">{stateName(r.state)}</span>
                  </td>
                  <td>{t(`channel.${r.channel}` as MessageKey)}</td>
                  <td>{t(`direction.${r.direction}` as MessageKey)}</td>
                  <td class="num">{number(r.requests)}</td>
                  <td class="num">{number(r.hits)}</td>
                  <td class="num">{number(r.noHits)}</td>
                  <td class="num">{number(r.errors)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th colSpan={3}>{t('stats.total')}</th>
                <th class="num">{number(total.requests)}</th>
                <th class="num">{number(total.hits)}</th>
                <th class="num">{number(total.noHits)}</th>
                <th class="num">{number(total.errors)}</th>
              </tr>
            </tfoot>
          </table>
        </>
      )}
    </Card>
  );
}

export function Officers() {
  const { can } = useApp();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const list = useData(() => (can('officers.read') ? api<{ officers: Officer[] }>('GET', '/officers') : Promise.resolve({ officers: [] })), []);
  const action = useAction();
  const revoke = async (id: string) => {
    await action.run(() => api('POST', `/officers/${encodeURIComponent(id)}/revoke`));
    void list.reload();
  };
  return (
    <Page title="off.title" help={t('off.help')}>
      {can('officers.read') && (
        <Card title={t('off.list')}>
          <ErrorLine error={list.error} />
          <Status action={action} />
          {list.data && list.data.officers.length === 0 && <p class="muted">{t('off.none')}</p>}
          {list.data && list.data.officers.length > 0 && (
            <table class="grid officers">
              <thead>
                <tr>
                  <th>{t('off.col.id')}</th>
                  <th>{t('off.col.name')}</th>
                  <th>{t('off.col.agency')}</th>
                  <th>{t('off.col.channels')}</th>
                  <th>{t('off.col.until')}</th>
                  <th>{t('off.col.status')}</th>
                  {can('officers.write') && <th>{t('common.actions')}</th>}
                </tr>
              </thead>
              <tbody>
                {list.data.officers.map((o) => (
                  <tr key={o.id} data-officer={o.id}>
                    <td>{o.id}</td>
                    <td>{o.name}</td>
                    <td>{o.agency}</td>
                    <td>{o.channels.map((c) => t(`channel.${c}` as MessageKey)).join(', ')}</td>
                    <td>{o.authorisedUntil ? dateOnly(o.authorisedUntil) : t('off.noEnd')}</td>
                    <td>{o.active ? <Badge tone="ok">{t('off.active')}</Badge> : <Badge tone="idle">{t('off.revoked')}</Badge>}</td>
                    {can('officers.write') && (
                      <td class="actions">
                        <button onClick={() => setDraft({ id: o.id, name: o.name, agency: o.agency, channels: [...o.channels], until: o.authorisedUntil?.slice(0, 10) ?? '' })}>{t('off.edit')}</button>
                        {o.active && <button onClick={() => void revoke(o.id)}>{t('off.revoke')}</button>}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {can('officers.write') && (
            <>
              <h3>{t('off.add')}</h3>
              <OfficerForm draft={draft} setDraft={setDraft} onSaved={() => void list.reload()} />
            </>
          )}
        </Card>
      )}
      {can('officers.read') && <Clients canWrite={can('officers.write')} />}
      {can('statistics.read') && <Statistics />}
    </Page>
  );
}
