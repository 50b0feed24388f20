import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo, SetupState } from '../../../appliance/api/wire.js';
import type { GatewayConfig } from '../../../appliance/config/config.js';
import { api, setCsrfToken } from '../api.js';
import { useApp } from '../app.js';
import { Card, downloadText, ErrorLine, Field, StateSelect, Help, inputValue, useAction } from '../components.js';
import { t, type MessageKey } from '../i18n/index.js';
import { TestMessage } from './operations.js';

const STEPS = ['memberState', 'network', 'token', 'keys', 'account', 'test'] as const;
type Step = (typeof STEPS)[number];

function firstOpen(s: SetupState): Step {
  if (!s.steps.memberState) return 'memberState';
  if (!s.steps.network) return 'network';
  if (!s.steps.token) return 'token';
  if (!s.steps.keys) return 'keys';
  if (!s.steps.account) return 'account';
  return 'test';
}

export function Setup({ onDone }: { onDone: () => void }) {
  const { setSession } = useApp();
  const [state, setState] = useState<SetupState | null>(null);
  const [step, setStep] = useState<Step>('memberState');
  const action = useAction();
  const [code, setCode] = useState('');
  const [ms, setMs] = useState('RO');
  const [net, setNet] = useState({ iface: 'eth0', address: '', gateway: '', dns: '', relayHost: '', relayPort: '25' });
  const [pin, setPin] = useState({ a: '', b: '' });
  const [keys, setKeys] = useState({ org: '', cn: '' });
  const [acct, setAcct] = useState({ username: '', displayName: '', password: '', password2: '' });
  const [peers, setPeers] = useState<GatewayConfig['peers']>([]);

  const apply = (s: SetupState) => {
    setState(s);
    setStep(firstOpen(s));
    if (s.memberState) setMs(s.memberState);
    if (s.relay) {
      const relay = s.relay;
      setNet((n) => ({ ...n, relayHost: relay.host, relayPort: String(relay.port) }));
    }
  };
  useEffect(() => {
    void api<SetupState>('GET', '/setup').then(apply);
  }, []);
  useEffect(() => {
    if (step === 'test') void api<{ config: GatewayConfig }>('GET', '/config').then((c) => setPeers(c.config.peers)).catch(() => undefined);
  }, [step]);

  const run = async (work: () => Promise<SetupState>) => {
    const s = await action.run(work);
    if (s) apply(s);
  };

  if (!state) return <p>{t('common.loading')}</p>;

  const body = () => {
    if (state.needed && !state.unlocked) {
      return (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api<SetupState>('POST', '/setup/unlock', { body: { code } }));
          }}
        >
          <h2>{t('setup.code.title')}</h2>
          <Help text={t('setup.code.help')} />
          <Field label={t('setup.code.field')}>
            <input name="setup-code" value={code} onInput={(e) => setCode(inputValue(e))} autoComplete="off" required autoFocus />
          </Field>
          <button type="submit" class="primary" disabled={action.busy}>
            {t('setup.code.submit')}
          </button>
        </form>
      );
    }
    switch (step) {
      case 'memberState':
        return (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void run(() => api<SetupState>('PUT', '/setup/member-state', { body: { memberState: ms } }));
            }}
          >
            <Help text={t('setup.ms.help')} />
            <Field label={t('dash.memberState')}>
              <StateSelect name="member-state" value={ms} onChange={setMs} />
            </Field>
            <button type="submit" class="primary" disabled={action.busy}>
              {t('common.next')}
            </button>
          </form>
        );
      case 'network': {
        const bind = (k: keyof typeof net) => ({ name: `net-${k}`, value: net[k], onInput: (e: Event) => { const v = inputValue(e); setNet((o) => ({ ...o, [k]: v })); } });
        return (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const network = net.address.trim()
                ? { interface: net.iface, address: net.address.trim(), gateway: net.gateway.trim() || null, dns: net.dns.split(/[\s,]+/).filter(Boolean) }
                : null;
              const relay = net.relayHost.trim() ? { host: net.relayHost.trim(), port: Number(net.relayPort), requireTls: false } : null;
              void run(() => api<SetupState>('PUT', '/setup/network', { body: { network, relay } }));
            }}
          >
            <Help text={t('setup.net.help')} />
            <div class="form-grid">
              <Field label={t('setup.net.iface')}>
                <input {...bind('iface')} />
              </Field>
              <Field label={t('setup.net.address')}>
                <input {...bind('address')} placeholder="10.20.30.40/24" />
              </Field>
              <Field label={t('setup.net.gateway')}>
                <input {...bind('gateway')} />
              </Field>
              <Field label={t('setup.net.dns')}>
                <input {...bind('dns')} />
              </Field>
              <Field label={t('setup.net.relayHost')}>
                <input {...bind('relayHost')} />
              </Field>
              <Field label={t('ops.relay.port')}>
                <input type="number" {...bind('relayPort')} />
              </Field>
            </div>
            <button type="submit" class="primary" disabled={action.busy}>
              {t('common.next')}
            </button>
          </form>
        );
      }
      case 'token':
        return (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (pin.a !== pin.b) return;
              void run(() => api<SetupState>('POST', '/setup/token', { body: { pin: pin.a } }));
            }}
          >
            <Help text={t('setup.token.help')} />
            {state.token?.loggedIn && (
              <div class="row">
                <span class="ok-line">{t('setup.token.ready', { detail: state.token.detail })}</span>
                <button type="button" name="keep-pin" disabled={action.busy} onClick={() => void run(() => api<SetupState>('POST', '/setup/token', { body: { keep: true } }))}>
                  {t('setup.token.keep')}
                </button>
              </div>
            )}
            <Field label={t('setup.token.pin')}>
              <input type="password" name="pin" value={pin.a} onInput={(e) => { const v = inputValue(e); setPin((o) => ({ ...o, a: v })); }} minLength={4} maxLength={64} required autoComplete="off" />
            </Field>
            <Field label={t('setup.token.pin2')}>
              <input type="password" name="pin2" value={pin.b} onInput={(e) => { const v = inputValue(e); setPin((o) => ({ ...o, b: v })); }} required autoComplete="off" />
            </Field>
            {pin.b && pin.a !== pin.b && <p class="error">{t('setup.token.mismatch')}</p>}
            <button type="submit" class="primary" disabled={action.busy || pin.a !== pin.b}>
              {t('common.next')}
            </button>
          </form>
        );
      case 'keys':
        return (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void run(() => api<SetupState>('POST', '/setup/keys', { body: { organization: keys.org, commonName: keys.cn } }));
            }}
          >
            <Help text={t('setup.keys.help')} />
            <Field label={t('setup.keys.org')}>
              <input name="organization" value={keys.org} onInput={(e) => { const v = inputValue(e); setKeys((o) => ({ ...o, org: v })); }} required />
            </Field>
            <Field label={t('setup.keys.cn')}>
              <input name="common-name" value={keys.cn} onInput={(e) => { const v = inputValue(e); setKeys((o) => ({ ...o, cn: v })); }} required placeholder={`${ms} NCP`} />
            </Field>
            <button type="submit" class="primary" disabled={action.busy}>
              {t('setup.keys.generate')}
            </button>
          </form>
        );
      case 'account':
        return (
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              if (acct.password !== acct.password2) return;
              const r = await action.run(() =>
                api<SetupState & { csrfToken: string }>('POST', '/setup/account', { body: { username: acct.username, displayName: acct.displayName, password: acct.password } }),
              );
              if (r) {
                setCsrfToken(r.csrfToken);
                setState(r);
                setStep('test');
              }
            }}
          >
            {state.csrs.length > 0 && <CsrList state={state} />}
            <Help text={t('setup.account.help')} />
            <div class="form-grid">
              <Field label={t('acc.col.username')}>
                <input name="username" value={acct.username} onInput={(e) => { const v = inputValue(e); setAcct((o) => ({ ...o, username: v })); }} required autoComplete="username" />
              </Field>
              <Field label={t('acc.col.name')}>
                <input name="display-name" value={acct.displayName} onInput={(e) => { const v = inputValue(e); setAcct((o) => ({ ...o, displayName: v })); }} required />
              </Field>
              <Field label={t('acc.password')}>
                <input type="password" name="password" minLength={12} value={acct.password} onInput={(e) => { const v = inputValue(e); setAcct((o) => ({ ...o, password: v })); }} required autoComplete="new-password" />
              </Field>
              <Field label={t('setup.account.password2')}>
                <input type="password" name="password2" value={acct.password2} onInput={(e) => { const v = inputValue(e); setAcct((o) => ({ ...o, password2: v })); }} required autoComplete="new-password" />
              </Field>
            </div>
            {acct.password2 && acct.password !== acct.password2 && <p class="error">{t('setup.account.mismatch')}</p>}
            <button type="submit" class="primary" disabled={action.busy || acct.password !== acct.password2}>
              {t('common.next')}
            </button>
          </form>
        );
      case 'test':
        return (
          <div>
            {state.csrs.length > 0 && <CsrList state={state} />}
            <Help text={t('setup.test.help')} />
            <TestMessage peers={peers} />
            <button
              class="primary"
              onClick={async () => {
                setSession(await api<SessionInfo>('GET', '/session'));
                onDone();
              }}
            >
              {t('setup.finish')}
            </button>
          </div>
        );
    }
  };

  return (
    <Card class="setup">
      <h1>{t('setup.title')}</h1>
      <Help text={t('setup.help')} />
      {(!state.needed || state.unlocked) && (
        <ol class="steps">
          {STEPS.map((s) => {
            const done = s === 'test' ? false : state.steps[s];
            return (
              <li key={s} class={s === step ? 'current' : done ? 'done' : ''} data-step={s}>
                {state.needed && done && s !== 'account' ? (
                  <a
                    href="#"
                    onClick={(e) => {
                      e.preventDefault();
                      setStep(s);
                    }}
                  >
                    {t(`setup.step.${s}` as MessageKey)}
                  </a>
                ) : (
                  t(`setup.step.${s}` as MessageKey)
                )}
              </li>
            );
          })}
        </ol>
      )}
      {/* A fresh subtree per step: Preact would otherwise reuse one step's inputs for the next, and
          dropping maxLength from a reused input sets it to 0, which blocks typing. */}
      <div key={state.needed && !state.unlocked ? 'code' : step}>{body()}</div>
      <ErrorLine error={action.error} />
    </Card>
  );
}

function CsrList({ state }: { state: SetupState }) {
  return (
    <ul class="csrs">
      {state.csrs.map((c) => (
        <li key={c.keyLabel}>
          {c.subject}{' '}
          <button type="button" onClick={() => downloadText(`${c.keyLabel}.csr`, c.pem, 'application/pkcs10')}>
            {t('common.download')} CSR
          </button>
        </li>
      ))}
    </ul>
  );
}
