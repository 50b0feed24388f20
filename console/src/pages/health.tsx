import type { HealthLevel, HealthReport, MeasuredValue, Threshold } from '../../../appliance/health/types.js';
import { api } from '../api.js';
import { Badge, Card, ErrorLine, Page, useData, type Tone } from '../components.js';
import { bytes, dateTime } from '../format.js';
import { t, type MessageKey } from '../i18n/index.js';

const TONE: Record<HealthLevel, Tone> = { ok: 'ok', warning: 'warn', critical: 'bad', unavailable: 'idle' };

function Level({ level }: { level: HealthLevel }) {
  return <Badge tone={TONE[level]}>{t(`health.level.${level}` as MessageKey)}</Badge>;
}

function Meter({ title, m, unit, threshold, extra, id }: { title: string; m: MeasuredValue; unit: string; threshold: Threshold; extra?: string; id: string }) {
  const pct = m.value === null ? 0 : Math.min(100, unit === '%' ? m.value : (m.value / threshold.critical) * 100);
  return (
    <Card title={title} class={`meter level-${m.level}`}>
      <p class="big" data-metric={id} data-level={m.level}>
        {m.value === null ? t('common.notAvailable') : <>{`${m.value.toFixed(unit === '%' ? 1 : 0)} ${unit}`} <Level level={m.level} /></>}
      </p>
      <svg class="bar-meter" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true">
        <rect class="track" x="0" y="0" width="100" height="6" />
        <rect class={`fill ${m.level}`} x="0" y="0" width={pct} height="6" />
        <line class="mark" x1={unit === '%' ? threshold.warning : (threshold.warning / threshold.critical) * 100} x2={unit === '%' ? threshold.warning : (threshold.warning / threshold.critical) * 100} y1="0" y2="6" />
      </svg>
      <small class="muted">
        {t('health.thresholds', { w: `${threshold.warning} ${unit}`, c: `${threshold.critical} ${unit}` })}
        {extra ? ` · ${extra}` : ''}
      </small>
    </Card>
  );
}

export function Health() {
  const { data, error } = useData(() => api<HealthReport>('GET', '/system/health', { background: true }), [], 5_000);
  return (
    <Page title="health.title" help={t('health.help')} actions={data && <span class="updated">{dateTime(data.sampledAt)}</span>}>
      <ErrorLine error={error} />
      {data && (
        <>
          <p>
            {t('health.overall')}: <Level level={data.overall} />
          </p>
          <div class="meters">
            <Meter id="cpu" title={t('health.cpu')} m={data.cpu} unit="%" threshold={data.thresholds.cpuPercent} extra={data.cpu.cores ? t('health.cores', { n: data.cpu.cores }) : ''} />
            <Meter id="memory" title={t('health.memory')} m={data.memory} unit="%" threshold={data.thresholds.memoryPercent} extra={t('health.of', { used: bytes(data.memory.usedBytes), total: bytes(data.memory.totalBytes) })} />
            {data.disks.map((d) => (
              <Meter key={d.mount} id={`disk:${d.mount}`} title={t('health.disk', { mount: d.mount })} m={d} unit="%" threshold={data.thresholds.diskPercent} extra={t('health.of', { used: bytes(d.usedBytes), total: bytes(d.sizeBytes) })} />
            ))}
            <Meter id="temperature" title={t('health.temperature')} m={data.temperature} unit="°C" threshold={data.thresholds.temperatureC} />
          </div>
          <Card title={t('health.network')}>
            <table class="grid">
              <thead>
                <tr>
                  <th>{t('health.col.iface')}</th>
                  <th>{t('health.col.link')}</th>
                  <th>{t('health.col.ip')}</th>
                  <th>{t('health.col.speed')}</th>
                </tr>
              </thead>
              <tbody>
                {data.interfaces.map((i) => (
                  <tr key={i.name} data-iface={i.name} data-link={i.link}>
                    <td>
                      <strong>{i.name}</strong> {i.required && <small class="muted">({t('health.required')})</small>}
                    </td>
                    <td>
                      <Badge tone={TONE[i.level]}>{t(`link.${i.link === 'up' ? 'up' : i.link === 'down' ? 'down' : 'unknown'}` as MessageKey)}</Badge>
                    </td>
                    <td>{i.ip4 ?? '—'}</td>
                    <td>{i.speedMbps ? `${i.speedMbps} Mb/s` : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          {data.problems.length > 0 && (
            <Card title={t('health.problems')}>
              <ul class="muted">
                {data.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Card>
          )}
        </>
      )}
    </Page>
  );
}
