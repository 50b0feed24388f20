import { useState } from 'preact/hooks';
import type { GatewayConfig } from '../../../appliance/config/config.js';
import { CHANNELS, type Channel } from '../../../appliance/peers/member-states.js';
import type { RevisionDetail, RevisionSummary, TestMessageResult } from '../../../appliance/api/wire.js';
import { api } from '../api.js';
import { useApp } from '../app.js';
import { Card, checked, Confirm, ErrorLine, Field, inputValue, Page, Status, useAction, useData } from '../components.js';
import { dateTime } from '../format.js';
import { stateName, t, type MessageKey } from '../i18n/index.js';

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

function Revisions({ onChange, version }: { onChange: () => void; version: number }) {
  const { can } = useApp();
  const list = useData(() => api<{ revisions: RevisionSummary[] }>('GET', '/config/revisions'), [version]);
  const [open, setOpen] = useState<RevisionDetail | null>(null);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const view = async (id: number) => setOpen((await api<{ revision: RevisionDetail }>('GET', `/config/revisions/${id}`)).revision);
  const revert = async () => {
    if (!open) return;
    setConfirming(false);
    const r = await action.run(
      () => api<{ revision: RevisionDetail }>('POST', `/config/revisions/${open.id}/revert`),
      (v) => t('ops.reverted', { id: v.revision.id }),
    );
    if (r) {
      setOpen(r.revision);
      onChange();
    }
  };
  return (
    <Card title={t('ops.revisions')}>
      <ErrorLine error={list.error} />
      <div class="scroll">
        <table class="grid revisions">
          <thead>
            <tr>
              <th>{t('ops.col.id')}</th>
              <th>{t('ops.col.at')}</th>
              <th>{t('ops.col.actor')}</th>
              <th>{t('ops.col.summary')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.revisions.map((r) => (
              <tr key={r.id} data-revision={r.id} class={open?.id === r.id ? 'selected' : 'clickable'} onClick={() => void view(r.id)}>
                <td>{r.id}</td>
                <td>{dateTime(r.at)}</td>
                <td>{r.actor}</td>
                <td class="wrap">{r.summary}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open && (
        <div class="diff" data-diff={open.id}>
          <h3>{t('ops.diff', { id: open.id })}</h3>
          <table class="grid">
            <thead>
              <tr>
                <th>{t('ops.col.path')}</th>
                <th>{t('ops.col.before')}</th>
                <th>{t('ops.col.after')}</th>
              </tr>
            </thead>
            <tbody>
              {open.changes.map((c) => (
                <tr key={c.path}>
                  <td>
                    <code>{c.path}</code>
                  </td>
                  <td class="before wrap">{show(c.before)}</td>
                  <td class="after wrap">{show(c.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {can('config.write') && <button onClick={() => setConfirming(true)}>{t('ops.revert')}</button>}
        </div>
      )}
      <Status action={action} />
      {confirming && open && <Confirm text={t('ops.revertConfirm', { id: open.id })} onConfirm={() => void revert()} onCancel={() => setConfirming(false)} />}
    </Card>
  );
}

function RelayAndPeers({ config, onChange }: { config: GatewayConfig; onChange: () => void }) {
  const [host, setHost] = useState(config.relay?.host ?? '');
  const [port, setPort] = useState(String(config.relay?.port ?? 25));
  const [tls, setTls] = useState(config.relay?.requireTls ?? false);
  const action = useAction();
  const saveRelay = async (e: Event) => {
    e.preventDefault();
    const relay = host.trim() ? { host: host.trim(), port: Number(port), requireTls: tls } : null;
    if (await action.run(() => api<{ revision: RevisionDetail }>('PUT', '/config/relay', { body: { relay } }), (r) => t(r.revision.restartRequired ? 'ops.restartRequired' : 'common.saved'))) onChange();
  };
  const toggle = async (code: string, channel: Channel, enabled: boolean) => {
    if (await action.run(() => api<{ revision: RevisionDetail }>('PUT', `/config/peers/${code}/channels/${channel}`, { body: { enabled } }), (r) => t(r.revision.restartRequired ? 'ops.restartRequired' : 'common.saved'))) onChange();
  };
  return (
    <>
      <Card title={t('ops.relay')}>
        <form class="form-grid" onSubmit={saveRelay}>
          <Field label={t('ops.relay.host')} hint={t('ops.relay.none')}>
            <input name="relay-host" value={host} onInput={(e) => setHost(inputValue(e))} />
          </Field>
          <Field label={t('ops.relay.port')}>
            <input name="relay-port" type="number" min={1} max={65535} value={port} onInput={(e) => setPort(inputValue(e))} />
          </Field>
          <label class="check">
            <input type="checkbox" checked={tls} onChange={(e) => setTls(checked(e))} /> {t('ops.relay.tls')}
          </label>
          <button type="submit" class="primary" disabled={action.busy}>
            {t('common.save')}
          </button>
        </form>
      </Card>
      <Card title={t('ops.peers')}>
        <table class="grid peers">
          <thead>
            <tr>
              <th>{t('dash.col.state')}</th>
              {CHANNELS.map((c) => (
                <th key={c}>{t(`channel.${c}` as MessageKey)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {config.peers.map((p) => (
              <tr key={p.code} data-peer={p.code}>
                <td>
                  {p.code} <span class="muted">{stateName(p.code)}</span>
                </td>
                {CHANNELS.map((c) => {
                  const on = p.channels[c]?.enabled ?? true;
                  return (
                    <td key={c}>
                      <label class="check">
                        <input type="checkbox" name={`peer-${p.code}-${c}`} checked={on} disabled={action.busy} onChange={(e) => void toggle(p.code, c, checked(e))} /> {t('ops.peers.enabled')}
                      </label>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
        <Status action={action} />
      </Card>
    </>
  );
}

export function TestMessage({ peers }: { peers: ReadonlyArray<{ code: string; channels: Partial<Record<Channel, { enabled?: boolean } | undefined>> }> }) {
  const [target, setTarget] = useState('relay');
  const [result, setResult] = useState<TestMessageResult | null>(null);
  const action = useAction();
  const send = async () => {
    const [state, channel] = target.split(':');
    const body = target === 'relay' ? { kind: 'relay' } : { kind: 'peer', state, channel };
    const r = await action.run(() => api<{ result: TestMessageResult }>('POST', '/test-message', { body }));
    setResult(r?.result ?? null);
  };
  return (
    <div class="test-message">
      <div class="row">
        <select name="test-target" value={target} onChange={(e) => setTarget(inputValue(e))}>
          <option value="relay">{t('ops.test.relay')}</option>
          {peers.flatMap((p) =>
            // Mail channels only (vehicles is SOAP); a channel not mentioned in the file is enabled, as the peer directory reads it.
            (['dna', 'fp'] as const).filter((c) => p.channels[c]?.enabled ?? true).map((c) => (
              <option key={`${p.code}:${c}`} value={`${p.code}:${c}`}>
                {t('ops.test.peer')}: {p.code} {t(`channel.${c}` as MessageKey)}
              </option>
            )),
          )}
        </select>
        <button class="primary" disabled={action.busy} onClick={() => void send()}>
          {t('ops.test.send')}
        </button>
      </div>
      <ErrorLine error={action.error} />
      {result && (
        <p class={result.ok ? 'ok-line' : 'error'} data-test-result={result.ok ? 'ok' : 'failed'}>
          {result.ok ? t('ops.test.ok', { ms: result.elapsedMs, detail: result.detail }) : t('ops.test.failed', { detail: result.detail })}
        </p>
      )}
    </div>
  );
}

function Power() {
  const [asking, setAsking] = useState<'restart' | 'reboot' | null>(null);
  const action = useAction();
  const go = async (what: 'restart' | 'reboot') => {
    setAsking(null);
    await action.run(() => api('POST', `/system/${what}`, { body: { confirm: what } }), () => t('ops.requested'));
  };
  return (
    <Card title={t('ops.power')}>
      <div class="row">
        <button class="danger" onClick={() => setAsking('restart')}>
          {t('ops.restart')}
        </button>
        <button class="danger" onClick={() => setAsking('reboot')}>
          {t('ops.reboot')}
        </button>
      </div>
      <Status action={action} />
      {asking && <Confirm text={t(asking === 'restart' ? 'ops.restart' : 'ops.reboot')} word={asking} onConfirm={() => void go(asking)} onCancel={() => setAsking(null)} />}
    </Card>
  );
}

export function Operations() {
  const { can } = useApp();
  const [version, setVersion] = useState(0);
  const config = useData(() => api<{ config: GatewayConfig; revision: number }>('GET', '/config'), [version]);
  const bump = () => setVersion((v) => v + 1);
  return (
    <Page title="ops.title" help={t('ops.help')}>
      <Revisions onChange={bump} version={version} />
      <ErrorLine error={config.error} />
      {can('config.write') && config.data && (
        <>
          <RelayAndPeers key={config.data.revision} config={config.data.config} onChange={bump} />
          <Card title={t('ops.test')}>
            <TestMessage peers={config.data.config.peers} />
          </Card>
        </>
      )}
      {can('operations.diagnostics') && (
        <Card title={t('ops.diag')}>
          <p class="muted">{t('ops.diag.help')}</p>
          <a class="button" href="/api/system/diagnostics" download>
            {t('ops.diag.download')}
          </a>
        </Card>
      )}
      {can('operations.restart') && <Power />}
    </Page>
  );
}
