import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { GatewayStatus, LinkState } from '../../../appliance/status/types.js';
import { api } from '../api.js';
import { LineChart } from '../charts.js';
import { Badge, Card, checked, ErrorLine, Page, useData, type Tone } from '../components.js';
import { dateTime, duration, number, relative } from '../format.js';
import { stateName, t, type MessageKey } from '../i18n/index.js';

export const LINK_TONE: Record<LinkState, Tone> = { up: 'ok', degraded: 'warn', down: 'bad', unknown: 'idle', disabled: 'idle' };
const POLL_MS = 2_000;

export function Dashboard() {
  const { data, error, at } = useData(
    async (background) => {
      performance.mark('pruem:status-requested');
      const s = await api<GatewayStatus>('GET', '/status', { background });
      performance.mark('pruem:status-received');
      return s;
    },
    [],
    POLL_MS,
  );
  const [onlyProblems, setOnlyProblems] = useState(false);
  const [, tick] = useState(0);
  const marked = useRef(false);

  // Render benchmark hook (test/bench/console-render.ts): the first time the rows are in the DOM.
  useLayoutEffect(() => {
    if (data && !marked.current) {
      marked.current = true;
      performance.mark('pruem:dashboard-rendered');
      performance.measure('pruem:dashboard-render', 'pruem:status-received', 'pruem:dashboard-rendered');
    }
  }, [data]);

  // The stale warning needs the clock to move even when no answer comes.
  useLayoutEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 5_000);
    return () => clearInterval(timer);
  }, []);

  if (!data) {
    return (
      <Page title="dash.title" help={t('dash.help')}>
        {error ? <ErrorLine error={error} /> : <p>{t('common.loading')}</p>}
      </Page>
    );
  }

  const now = Date.parse(data.now) + (Date.now() - at);
  const staleSeconds = Math.round((Date.now() - at) / 1000);
  const atRisk = data.queues.reduce((n, q) => n + q.atRisk, 0);
  const counts = { up: 0, down: 0, other: 0 };
  for (const p of data.peers) {
    if (p.link === 'up') counts.up++;
    else if (p.link === 'down') counts.down++;
    else counts.other++;
  }
  const peers = onlyProblems ? data.peers.filter((p) => p.link === 'down' || p.link === 'degraded') : data.peers;
  const hourAgo = new Date(now - 3_600_000).toISOString();
  const halfAgo = new Date(now - 1_800_000).toISOString();

  return (
    <Page
      title="dash.title"
      help={t('dash.help')}
      actions={
        <span class={`updated ${staleSeconds > 10 ? 'stale' : ''}`} data-updated={at}>
          {staleSeconds > 10 ? t('dash.stale', { n: staleSeconds }) : t('dash.updated', { time: dateTime(new Date(at).toISOString()) })}
        </span>
      }
    >
      <ErrorLine error={error} />
      {data.provisioning && (!data.provisioning.ready || data.provisioning.expiring.length > 0) && (
        <Card title={t(data.provisioning.ready ? 'dash.certExpiring' : 'dash.notProvisioned')}>
          <ul class="risk-banner provisioning" role="alert" data-provisioned={String(data.provisioning.ready)}>
            {[...data.provisioning.missing, ...data.provisioning.expiring].map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </Card>
      )}
      <div class="summary">
        <Card title={t('dash.memberState')}>
          <p class="big">
            {data.memberState} <small>{stateName(data.memberState)}</small>
          </p>
          <p class="muted">
            {t('dash.version')} {data.version} · {t('dash.since')} {dateTime(data.startedAt)} {data.demo && <Badge tone="info">{t('dash.demo')}</Badge>}
          </p>
        </Card>
        <Card title={t('dash.services')}>
          <ul class="services">
            {data.services.map((s) => (
              <li key={s.name} data-service={s.name} data-state={s.state}>
                <Badge tone={LINK_TONE[s.state]}>{t(`link.${s.state}` as MessageKey)}</Badge> <strong>{t(`service.${s.name}` as MessageKey)}</strong>
                <span class="muted"> {s.detail}</span>
              </li>
            ))}
          </ul>
        </Card>
      </div>

      {atRisk > 0 && (
        <p class="risk-banner" role="alert" data-at-risk={atRisk}>
          {t('dash.atRisk', { n: atRisk })}
        </p>
      )}

      <Card title={t('dash.queues')}>
        <table class="grid queues">
          <thead>
            <tr>
              <th>{t('dash.col.channel')}</th>
              <th>{t('dash.col.direction')}</th>
              <th class="num">{t('dash.col.depth')}</th>
              <th>{t('dash.col.oldest')}</th>
              <th>{t('dash.col.deadline')}</th>
              <th class="num">{t('dash.col.atRisk')}</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => {
              const late = q.nearestDeadline !== null && Date.parse(q.nearestDeadline) < now;
              return (
                <tr key={`${q.channel}-${q.direction}`} class={late ? 'late' : q.atRisk > 0 ? 'risk' : ''} data-queue={`${q.channel}-${q.direction}`} data-depth={q.depth}>
                  <td>
                    {t(`channel.${q.channel}` as MessageKey)}
                    {q.waitingFor && q.waitingFor.length > 0 && <span class="muted" data-waiting-for={q.waitingFor.join(',')}> · {t('dash.waitingFor', { states: q.waitingFor.join(', ') })}</span>}
                  </td>
                  <td>{t(`direction.${q.direction}` as MessageKey)}</td>
                  <td class="num depth">{number(q.depth)}</td>
                  <td>{duration(q.oldestAgeSeconds)}</td>
                  <td>{q.nearestDeadline ? (late ? `${t('dash.late')} ${relative(q.nearestDeadline, now)}` : relative(q.nearestDeadline, now)) : '—'}</td>
                  <td class="num">{q.atRisk > 0 ? <Badge tone={late ? 'bad' : 'warn'}>{q.atRisk}</Badge> : '0'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Card>

      {data.deadLetters && data.deadLetters.count > 0 && (
        <Card title={t('dash.deadLetters')}>
          <p class="risk-banner" role="alert" data-dead-letters={data.deadLetters.count}>
            {t('dash.deadLettersSummary', { n: data.deadLetters.count })}
          </p>
          <table class="grid dead-letters">
            <thead>
              <tr>
                <th>{t('dash.col.channel')}</th>
                <th>{t('dash.col.direction')}</th>
                <th>{t('dash.col.state')}</th>
                <th>{t('dash.col.deadAt')}</th>
                <th>{t('dash.col.failure')}</th>
              </tr>
            </thead>
            <tbody>
              {data.deadLetters.recent.map((d) => (
                <tr key={d.id} data-dead-letter={d.messageId} data-direction={d.direction} title={d.reason}>
                  <td>{t(`channel.${d.channel}` as MessageKey)}</td>
                  <td>{t(`direction.${d.direction}`)}</td>
                  <td>{d.state ?? '—'}</td>
                  <td>{dateTime(d.deadAt)}</td>
                  <td>
                    <code>{d.code}</code> × {d.failures}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}

      <Card title={t('dash.links')}>
        <div class="row spread">
          <span class="muted" data-links-summary>
            {t('dash.linksSummary', counts)}
          </span>
          <label class="check">
            <input type="checkbox" checked={onlyProblems} onChange={(e) => setOnlyProblems(checked(e))} /> {t('dash.onlyProblems')}
          </label>
        </div>
        {data.peers.length === 0 ? (
          <p class="muted">{t('dash.noPeers')}</p>
        ) : peers.length === 0 ? (
          <p class="muted">{t('dash.noProblems')}</p>
        ) : (
          <table class="grid links">
            <thead>
              <tr>
                <th>{t('dash.col.state')}</th>
                <th>{t('dash.col.channel')}</th>
                <th>{t('dash.col.link')}</th>
                <th>{t('dash.col.lastSuccess')}</th>
                <th>{t('dash.col.lastError')}</th>
              </tr>
            </thead>
            <tbody>
              {peers.map((p) => (
                <tr key={`${p.state}-${p.channel}`} data-peer={p.state} data-channel={p.channel} data-link={p.link} class={`link-${p.link}`}>
                  <td>
                    <strong>{p.state}</strong> <span class="muted">{stateName(p.state)}</span>
                  </td>
                  <td>{t(`channel.${p.channel}` as MessageKey)}</td>
                  <td>
                    <Badge tone={LINK_TONE[p.link]}>{t(`link.${p.link}` as MessageKey)}</Badge>
                  </td>
                  <td title={p.lastSuccess ?? ''}>{relative(p.lastSuccess, now)}</td>
                  <td title={p.lastError?.at ?? ''}>{p.lastError ? `${relative(p.lastError.at, now)}: ${p.lastError.reason}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>

      <Card title={t('dash.throughput')}>
        <LineChart
          label={t('dash.throughput')}
          series={[
            { name: t('dash.in'), cls: 's-in', values: data.throughput.in },
            { name: t('dash.out'), cls: 's-out', values: data.throughput.out },
          ]}
          xLabels={[relative(hourAgo, now), relative(halfAgo, now), relative(new Date(now).toISOString(), now)]}
        />
        <p class="legend">
          <span class="key s-in" /> {t('dash.in')} ({number(data.throughput.in.reduce((a, b) => a + b, 0))}) <span class="key s-out" /> {t('dash.out')} ({number(data.throughput.out.reduce((a, b) => a + b, 0))})
        </p>
      </Card>
    </Page>
  );
}
